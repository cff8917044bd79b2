/**
 * @module Every document the cluster targets write (`kubernetes`, with and without `--deny-with
 * anp`; `cilium`; `calico`) validated against the upstream API schemas in
 * `test/fixtures/schemas/` (PROVENANCE.md there): NetworkPolicy networking.k8s.io/v1,
 * AdminNetworkPolicy policy.networking.k8s.io/v1alpha1, CiliumNetworkPolicy and
 * CiliumClusterwideNetworkPolicy cilium.io/v2, Calico (Staged)(Global)NetworkPolicy
 * projectcalico.org/v3. Bulkhead's own checkers read Bulkhead's own output, so a field misspelt
 * the same way in compiler and checker passes them; these schemas come from the projects that
 * own the APIs.
 *
 * How the API server reads the schemas, and how this test mirrors it:
 * - Unknown fields: a CRD's structural schema prunes them and `kubectl apply` (field validation
 *   Strict, the default) rejects them; so do built-in types. Every object that lists properties
 *   has `additionalProperties: false` in the stored schemas, so a misspelt field fails here.
 * - `x-kubernetes-int-or-string`: the upstream `anyOf: [integer, string]` is kept (plain JSON
 *   Schema); NetworkPolicy's `IntOrString` (`format: int-or-string`) is written the same way.
 * - `default`: applied before validation (`useDefaults`), as the API server defaults before it
 *   validates (ANP `portNumber.protocol` is required and defaults to TCP).
 * - `format: cidr` (Cilium): checked with ipaddr.js, as the API server's `cidr` format
 *   (Go `net.ParseCIDR`); other formats (`int32`, `int64`, `date-time`) are not checked.
 * - `x-kubernetes-validations` (CEL) cannot run in ajv. The ones that can matter for what
 *   Bulkhead writes are checked by hand in {@link celChecks} (ANP `isCIDR(self)` on networks;
 *   Calico rule: ICMP fields need protocol ICMP/ICMPv6, ICMP needs ipVersion 4, ICMPv6 needs
 *   ipVersion 6, for `protocol` and `notProtocol`; EntityRule `global()` only in a
 *   namespaceSelector). Not checked: Calico's HTTP-match rules and the Services-exclusion rules
 *   (Bulkhead writes no `http` and no `services`), `ICMP code without type` (Bulkhead writes no
 *   `code`), GlobalNetworkPolicy preDNAT/doNotTrack/applyOnForward rules (Bulkhead sets none).
 * - Beyond the schemas, the checks the API server runs in Go on every object (apimachinery
 *   `ValidateObjectMeta`: name a DNS-1123 subdomain, label keys qualified names, label values
 *   at most 63 characters of `[A-Za-z0-9_.-]`; namespaced kinds need a namespace, cluster
 *   kinds have none) and on NetworkPolicy (`pkg/apis/networking/validation`: protocol TCP, UDP
 *   or SCTP; port 1–65535; endPort only with a numeric port, at least port; policyTypes Ingress
 *   or Egress; ipBlock cidr and except valid CIDRs, each except strictly inside the cidr; label
 *   selectors as ValidateLabelSelector takes them, also on AdminNetworkPolicy).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Ajv from 'ajv'
import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { afterAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { loadWorkspace } from '../../src/policy/files.js'
import {
  calicoAllows,
  calicoCompiler,
  ciliumAllows,
  ciliumCompiler,
  kubernetesAnpCompiler,
  kubernetesCompiler,
  planCalico,
  planCilium,
  PodGroupResolver,
  type CheckEndpoint,
  type Compiler,
  type K8sObject,
} from '../../src/compile/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import { policyFor } from '../../src/cli/commands/demo-targets.js'
import { runDemo } from '../../src/cli/commands/demo.js'
import { loadOrThrow } from '../../src/cli/workspace.js'
import {
  BulkheadError,
  labelSet,
  type Inventory,
  type PolicySet,
  type Rule,
} from '../../src/core/index.js'
import { CAPABILITY_CASES, CONFORMANCE_INVENTORY } from '../conformance/compile.case.js'
import { SEED } from '../helpers/model.js'
import { allObjects } from './k8s-differential.js'
import { calicoProblems, ciliumProblems } from './upstream-rules.js'
import {
  ANY_SUBJECT,
  cidr,
  enforced,
  enforcementArb,
  estateArb,
  lbl,
  NOW,
  policy,
  rule,
  SHOP,
  SHOP_POLICIES,
  tcp,
} from './kubernetes-fixture.js'

const SCHEMAS = fileURLToPath(new URL('../fixtures/schemas/', import.meta.url))
const schema = (file: string): object =>
  JSON.parse(readFileSync(path.join(SCHEMAS, file), 'utf8')) as object

const ajv = new Ajv({ allErrors: true, useDefaults: true, unknownFormats: 'ignore' })
ajv.addFormat('cidr', (s: string) => ipaddr.isValidCIDR(s))
ajv.addFormat('int32', { type: 'number', validate: (n: number) => n >= -(2 ** 31) && n < 2 ** 31 })
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) })
for (const f of [
  'networkpolicy-networking-v1.json',
  'adminnetworkpolicy-policy.networking.k8s.io-v1alpha1.json',
  'ciliumnetworkpolicy-cilium.io-v2.json',
  'calico-projectcalico.org-v3.json',
])
  ajv.addSchema(schema(f))

/** Schema (by `$id` and pointer) and scope of each apiVersion/kind Bulkhead writes. */
const KINDS: Readonly<Record<string, { ref: string; namespaced: boolean }>> = {
  'networking.k8s.io/v1 NetworkPolicy': {
    ref: 'networkpolicy-networking-v1.json',
    namespaced: true,
  },
  'policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy': {
    ref: 'adminnetworkpolicy-policy.networking.k8s.io-v1alpha1.json',
    namespaced: false,
  },
  'cilium.io/v2 CiliumNetworkPolicy': {
    ref: 'ciliumnetworkpolicy-cilium.io-v2.json',
    namespaced: true,
  },
  'cilium.io/v2 CiliumClusterwideNetworkPolicy': {
    ref: 'ciliumnetworkpolicy-cilium.io-v2.json',
    namespaced: false,
  },
  ...Object.fromEntries(
    (
      [
        ['NetworkPolicy', true],
        ['StagedNetworkPolicy', true],
        ['GlobalNetworkPolicy', false],
        ['StagedGlobalNetworkPolicy', false],
      ] as const
    ).map(([k, namespaced]) => [
      `projectcalico.org/v3 ${k}`,
      { ref: `calico-projectcalico.org-v3.json#/definitions/${k}`, namespaced },
    ]),
  ),
}

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

/** apimachinery ValidateObjectMeta's name and label rules, and the kind's scope. */
function metaChecks(doc: Json, namespaced: boolean): string[] {
  const out: string[] = []
  const meta = isObj(doc['metadata']) ? doc['metadata'] : {}
  const name = meta['name']
  if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name))
    out.push(`metadata.name ${JSON.stringify(name)} is not a DNS-1123 subdomain`)
  if (namespaced !== (typeof meta['namespace'] === 'string'))
    out.push(
      `metadata.namespace ${namespaced ? 'missing on a namespaced' : 'set on a cluster'} kind`,
    )
  for (const [k, v] of Object.entries(isObj(meta['labels']) ? meta['labels'] : {})) {
    const slash = k.indexOf('/')
    const prefix = slash < 0 ? undefined : k.slice(0, slash)
    const key = k.slice(slash + 1)
    if (
      key.length > 63 ||
      !QUALIFIED_NAME.test(key) ||
      (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    )
      out.push(`label key ${k} is not a qualified name`)
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      out.push(`label ${k} value ${JSON.stringify(v)} is not a label value`)
  }
  return out
}

/**
 * apimachinery ValidateLabelSelector on every label selector of a document (an object holding
 * `matchLabels` or `matchExpressions`): keys qualified names, values label values, operator one
 * of four, values present exactly for In and NotIn. Run for NetworkPolicy (the API server runs
 * it) and AdminNetworkPolicy (implementations convert its selectors with
 * LabelSelectorAsSelector, which refuses the same).
 */
function selectorChecks(node: unknown, at = ''): string[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => selectorChecks(n, `${at}[${i}]`))
  if (!isObj(node)) return []
  const out: string[] = []
  const keyOk = (k: string): boolean => {
    const slash = k.indexOf('/')
    const prefix = slash < 0 ? undefined : k.slice(0, slash)
    const key = k.slice(slash + 1)
    return (
      key.length <= 63 &&
      QUALIFIED_NAME.test(key) &&
      (prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix)))
    )
  }
  if ('matchLabels' in node || 'matchExpressions' in node) {
    for (const [k, v] of Object.entries(isObj(node['matchLabels']) ? node['matchLabels'] : {})) {
      if (!keyOk(k)) out.push(`${at}.matchLabels key ${k}`)
      if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
        out.push(`${at}.matchLabels[${k}] value ${JSON.stringify(v)}`)
    }
    for (const e of arr(node['matchExpressions'])) {
      if (!isObj(e)) continue
      const op = e['operator']
      const values = arr(e['values'])
      if (!keyOk(String(e['key']))) out.push(`${at}.matchExpressions key ${String(e['key'])}`)
      if (op === 'In' || op === 'NotIn') {
        if (values.length === 0) out.push(`${at}.matchExpressions ${op} without values`)
      } else if (op === 'Exists' || op === 'DoesNotExist') {
        if (values.length > 0) out.push(`${at}.matchExpressions ${op} with values`)
      } else out.push(`${at}.matchExpressions operator ${JSON.stringify(op)}`)
      for (const v of values)
        if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
          out.push(`${at}.matchExpressions value ${JSON.stringify(v)}`)
    }
  }
  for (const [k, v] of Object.entries(node))
    if (k !== 'matchLabels' && k !== 'matchExpressions')
      out.push(...selectorChecks(v, `${at}.${k}`))
  return out
}

/** Whether `inner` is a CIDR strictly inside `outer` (same family, longer prefix, same bits). */
function strictlyInside(inner: string, outer: string): boolean {
  if (!ipaddr.isValidCIDR(inner) || !ipaddr.isValidCIDR(outer)) return false
  const [ia, il] = ipaddr.parseCIDR(inner)
  const [oa, ol] = ipaddr.parseCIDR(outer)
  return ia.kind() === oa.kind() && il > ol && ia.match(oa, ol)
}

/** pkg/apis/networking/validation rules of a NetworkPolicy that its schema does not hold. */
function networkPolicyChecks(spec: Json): string[] {
  const out: string[] = []
  for (const t of arr(spec['policyTypes']))
    if (t !== 'Ingress' && t !== 'Egress') out.push(`policyTypes ${String(t)}`)
  const rules = [
    ...arr(spec['ingress']).map((r) => [r, 'from'] as const),
    ...arr(spec['egress']).map((r) => [r, 'to'] as const),
  ]
  for (const [r, peers] of rules) {
    if (!isObj(r)) continue
    for (const p of arr(r['ports'])) {
      if (!isObj(p)) continue
      const proto = JSON.stringify(p['protocol'] ?? 'TCP')
      if (!['"TCP"', '"UDP"', '"SCTP"'].includes(proto)) out.push(`protocol ${proto}`)
      const port = p['port']
      if (typeof port === 'number' && (port < 1 || port > 65535)) out.push(`port ${port}`)
      const end = p['endPort']
      if (end !== undefined) {
        if (typeof port !== 'number') out.push('endPort without a numeric port')
        else if (typeof end !== 'number' || end < port || end > 65535)
          out.push(`endPort ${JSON.stringify(end)} for port ${port}`)
      }
    }
    for (const peer of arr(r[peers])) {
      if (!isObj(peer) || !isObj(peer['ipBlock'])) continue
      const block = String(peer['ipBlock']['cidr'])
      if (!ipaddr.isValidCIDR(block)) out.push(`ipBlock cidr ${block}`)
      for (const e of arr(peer['ipBlock']['except']))
        if (!strictlyInside(String(e), block)) out.push(`except ${String(e)} not inside ${block}`)
    }
  }
  return out
}

/** The CEL rules (x-kubernetes-validations) that bear on what Bulkhead writes, run by hand. */
function celChecks(doc: Json, kind: string): string[] {
  const out: string[] = []
  const spec = isObj(doc['spec']) ? doc['spec'] : {}
  if (kind.startsWith('policy.networking.k8s.io/'))
    for (const r of arr(spec['egress']))
      for (const peer of arr(isObj(r) ? r['to'] : []))
        for (const n of arr(isObj(peer) ? peer['networks'] : []))
          if (!ipaddr.isValidCIDR(String(n))) out.push(`isCIDR(${String(n)})`)
  if (kind.startsWith('projectcalico.org/'))
    for (const r of [...arr(spec['ingress']), ...arr(spec['egress'])]) {
      if (!isObj(r)) continue
      const v = r['ipVersion']
      if (r['icmp'] !== undefined && !['ICMP', 'ICMPv6', 1, 58].includes(r['protocol'] as string))
        out.push('ICMP fields require protocol to be ICMP or ICMPv6')
      for (const f of ['protocol', 'notProtocol']) {
        if ((r[f] === 'ICMP' || r[f] === 1) && v !== undefined && v !== 4)
          out.push(`${f} ICMP requires ipVersion 4`)
        if ((r[f] === 'ICMPv6' || r[f] === 58) && v !== undefined && v !== 6)
          out.push(`${f} ICMPv6 requires ipVersion 6`)
      }
      for (const side of ['source', 'destination'])
        for (const f of ['selector', 'notSelector'])
          if (isObj(r[side]) && JSON.stringify(r[side][f] ?? '').includes('global('))
            out.push(`${side}.${f}: global() outside a namespaceSelector`)
    }
  return out
}

/**
 * Validates every YAML document of a compiled file: its kind is one Bulkhead may write, it
 * passes the upstream schema, the object-meta rules, the hand-run CEL rules and (NetworkPolicy)
 * the API server's Go validation. Returns one line per problem, `<file>#<n> <kind> <name>: ...`.
 */
export function validateManifests(file: string, content: string): string[] {
  const problems: string[] = []
  parseAllDocuments(content).forEach((d, i) => {
    // kubectl's go-yaml expands aliases (calico writes one for each repeat of a shared list)
    const doc: unknown = d.toJS({ maxAliasCount: -1 })
    if (doc === null) return
    if (!isObj(doc)) {
      problems.push(`${file}#${i}: not a mapping`)
      return
    }
    const kind = `${String(doc['apiVersion'])} ${String(doc['kind'])}`
    const name = isObj(doc['metadata']) ? String(doc['metadata']['name']) : '?'
    const at = `${file}#${i} ${kind} ${name}`
    const entry = KINDS[kind]
    if (entry === undefined) {
      problems.push(`${at}: no schema for this apiVersion and kind`)
      return
    }
    const copy = structuredClone(doc)
    if (!ajv.validate(entry.ref, copy))
      for (const e of ajv.errors ?? [])
        problems.push(`${at}: ${e.dataPath} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    for (const p of metaChecks(doc, entry.namespaced)) problems.push(`${at}: ${p}`)
    for (const p of celChecks(doc, kind)) problems.push(`${at}: ${p}`)
    if (kind === 'networking.k8s.io/v1 NetworkPolicy' && isObj(doc['spec']))
      for (const p of networkPolicyChecks(doc['spec'])) problems.push(`${at}: ${p}`)
    if (kind.startsWith('networking.k8s.io/') || kind.startsWith('policy.networking.k8s.io/'))
      for (const p of selectorChecks(doc['spec'], '.spec')) problems.push(`${at}: ${p}`)
    // what Calico's API server and Cilium's agent check in Go beyond the schemas
    if (kind.startsWith('projectcalico.org/'))
      for (const p of calicoProblems(doc)) problems.push(`${at}: ${p}`)
    if (kind.startsWith('cilium.io/'))
      for (const p of ciliumProblems(doc)) problems.push(`${at}: ${p}`)
  })
  return problems
}

/**
 * The documents of a compile result, and the problems {@link validateManifests} finds in them,
 * plus any object written twice (same apiVersion, kind, namespace and name).
 */
function validateResult(r: { artefacts: readonly { path: string; content: string }[] }): {
  documents: number
  problems: string[]
} {
  let documents = 0
  const problems: string[] = []
  const seen = new Set<string>()
  for (const a of r.artefacts) {
    for (const d of parseAllDocuments(a.content)) {
      const doc: unknown = d.toJS({ maxAliasCount: -1 })
      if (!isObj(doc)) continue
      documents++
      // one object per (kind, namespace, name): kubectl apply would overwrite the first
      const meta = isObj(doc['metadata']) ? doc['metadata'] : {}
      const key = [doc['apiVersion'], doc['kind'], meta['namespace'], meta['name']]
        .map((v) => JSON.stringify(v ?? ''))
        .join(' ')
      if (seen.has(key)) problems.push(`${a.path}: ${key} written twice`)
      seen.add(key)
    }
    problems.push(...validateManifests(a.path, a.content))
  }
  return { documents, problems }
}

const TARGETS: readonly (readonly [string, Compiler])[] = [
  ['kubernetes', kubernetesCompiler],
  ['kubernetes --deny-with anp', kubernetesAnpCompiler],
  ['cilium', ciliumCompiler],
  ['calico', calicoCompiler],
]

/**
 * Compiles at {@link NOW} (with `extra` options), or returns undefined when the target refuses
 * the input (a BulkheadError).
 */
function tryCompile(
  c: Compiler,
  inv: Inventory,
  ps: PolicySet,
  extra: Readonly<Record<string, unknown>> = {},
): { artefacts: readonly { path: string; content: string }[] } | undefined {
  try {
    return c.compile(inv, ps, { now: NOW, ...extra })
  } catch (e) {
    if (e instanceof BulkheadError) return undefined
    throw e
  }
}

describe('cluster targets against the upstream API schemas', () => {
  it('the schemas reject a misspelt field, a wrong type and a missing required field', () => {
    const np = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'x', namespace: 'a' },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelectr: {} }] }] },
    }
    const bad = (doc: object): string[] => validateManifests('t.yaml', JSON.stringify(doc))
    expect(bad(np).join('\n')).toContain('"additionalProperty":"podSelectr"')
    const sel = {
      ...np,
      spec: {
        podSelector: { matchExpressions: [{ key: 'app', operator: 'in', values: ['a'] }] },
        policyTypes: ['ingress'],
      },
    }
    expect(bad(sel)).toEqual([
      't.yaml#0 networking.k8s.io/v1 NetworkPolicy x: policyTypes ingress',
      't.yaml#0 networking.k8s.io/v1 NetworkPolicy x: .spec.podSelector.matchExpressions operator "in"',
    ])
    const cnp = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'x', namespace: 'a' },
      spec: { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: 80 }] }] }] },
    }
    expect(bad(cnp).join('\n')).toContain('should be string')
    const anp = {
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'AdminNetworkPolicy',
      metadata: { name: 'x' },
      spec: { subject: { namespaces: {} } },
    }
    expect(bad(anp).join('\n')).toContain('priority')
    const gnp = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'x' },
      spec: { egress: [{ action: 'Reject' }] },
    }
    expect(bad(gnp).join('\n')).toContain('allowed values')
  })

  it('the shared fixture and the any-subject estate: every document valid', () => {
    for (const [name, c] of TARGETS)
      for (const [inv, ps] of [
        [SHOP, SHOP_POLICIES],
        [ANY_SUBJECT.inventory, ANY_SUBJECT.policySet],
      ] as const) {
        const r = tryCompile(c, inv, ps)
        if (r === undefined) continue // kubernetes without anp refuses the deny rules
        const v = validateResult(r)
        expect(v.documents, name).toBeGreaterThan(0)
        expect(v.problems, name).toEqual([])
      }
  })

  it('the conformance capability cases: every document of every case a target accepts valid', () => {
    for (const [name, c] of TARGETS) {
      let compiled = 0 // documents
      for (const [cap, rule] of Object.entries(CAPABILITY_CASES)) {
        const ps: PolicySet = {
          policies: [
            {
              name: 'shop',
              owner: 'team-shop',
              scope: labelSet({ app: 'shop' }),
              rules: [rule],
              file: 'policy/shop.yaml',
            },
          ],
          enforcement: [
            { selector: { kind: 'any' }, mode: cap === 'monitor-mode' ? 'monitor' : 'enforce' },
          ],
        }
        // the conformance estate holds no pods: every workload a pod of namespace shop
        const r = tryCompile(c, CONFORMANCE_INVENTORY, ps, { defaultNamespace: 'shop' })
        if (r === undefined) continue
        const v = validateResult(r)
        compiled += v.documents
        expect(v.problems, `${name} ${cap}`).toEqual([])
      }
      expect(compiled, name).toBeGreaterThan(0)
    }
  })

  it('random estates (fixed seed), every enforcement mode: every document valid', () => {
    const estates = fc.sample(
      fc.tuple(estateArb, enforcementArb(['enforce', 'monitor', 'observe'])),
      {
        seed: SEED,
        numRuns: 100,
      },
    )
    for (const [name, c] of TARGETS) {
      let compiled = 0
      for (const [{ workloads, policies }, enforcement] of estates) {
        const inventory: Inventory = {
          workloads,
          externals: [{ name: 'partner', cidr: cidr('203.0.113.0/24'), labels: labelSet() }],
          labelRules: [],
        }
        for (const ps of [enforced(policies), { policies, enforcement }]) {
          const r = tryCompile(c, inventory, ps)
          if (r === undefined) continue
          const v = validateResult(r)
          if (v.documents > 0) compiled++
          expect(v.problems, name).toEqual([])
        }
      }
      // most estates compile on every target (the refused ones hold monitor pods, deny rules
      // without anp, or selectors a cluster cannot express)
      expect(compiled, name).toBeGreaterThan(50)
    }
  })

  describe('services and list sizes at the limits of the APIs', () => {
    const web = [lbl({ role: 'web' })]
    const api = [lbl({ role: 'api' })]
    const nets = Array.from({ length: 300 }, (_, i) =>
      cidr(`192.0.${Math.floor(i / 64)}.${(i % 64) * 4}/30`),
    )
    /** [what, rule, targets that must refuse it (compile/not-expressible or unsupported)]. */
    const CASES: readonly (readonly [string, Rule, readonly string[]])[] = [
      [
        '60 TCP ports (Cilium PortRule takes 40, Calico EntityRule 50)',
        rule(
          'ports',
          web,
          api,
          Array.from({ length: 60 }, (_, i) => tcp(1001 + 2 * i)),
        ),
        [],
      ],
      [
        '120 TCP ports, deny (AdminNetworkPolicy rule takes 100)',
        rule(
          'deny-ports',
          web,
          api,
          Array.from({ length: 120 }, (_, i) => tcp(2001 + 2 * i)),
          'deny',
        ),
        ['kubernetes'],
      ],
      [
        '10 001 TCP ports, deny (AdminNetworkPolicy takes 100 rules of 100 ports)',
        rule(
          'deny-many-ports',
          web,
          api,
          Array.from({ length: 10_001 }, (_, i) => tcp(1 + 2 * i)),
          'deny',
        ),
        ['kubernetes', 'kubernetes --deny-with anp'],
      ],
      [
        'ICMP types 250-255 (Calico takes types 0-254)',
        rule('icmp', web, api, [{ protocol: 1, ports: { lo: 250, hi: 255 } }]),
        ['kubernetes', 'kubernetes --deny-with anp', 'calico'],
      ],
      [
        'ICMPv6 type 255',
        rule('icmp6', web, api, [{ protocol: 58, ports: { lo: 255, hi: 255 } }]),
        ['kubernetes', 'kubernetes --deny-with anp', 'calico'],
      ],
      [
        'every ICMP type',
        rule('icmp-all', web, api, [{ protocol: 1, ports: { lo: 0, hi: 255 } }]),
        ['kubernetes', 'kubernetes --deny-with anp'],
      ],
      [
        '300 CIDR blocks (Calico nets take 256)',
        rule(
          'nets',
          web,
          nets.map((c) => ({ kind: 'cidr' as const, cidr: c, except: [] })),
          [tcp(443)],
        ),
        [],
      ],
      [
        'a block less itself (NetworkPolicy except must be strictly inside the cidr)',
        rule(
          'empty',
          web,
          [{ kind: 'cidr', cidr: cidr('10.0.0.0/8'), except: [cidr('10.0.0.0/8')] }],
          [tcp(443)],
        ),
        [],
      ],
      [
        'a block less 300 excepts (Calico notNets take 256)',
        rule(
          'except',
          web,
          [{ kind: 'cidr', cidr: cidr('192.0.0.0/16'), except: nets }],
          [tcp(443)],
        ),
        [],
      ],
    ]
    const ruleOf = (what: string): Rule => {
      const found = CASES.find((c) => c[0].startsWith(what))
      if (!found) throw new Error(what)
      return found[1]
    }
    for (const [what, r, refusedBy] of CASES)
      it(`${what}: valid documents, or refused where the API cannot take it`, () => {
        const ps = enforced([policy('shop', { app: 'shop' }, [r])])
        for (const [name, c] of TARGETS) {
          const out = tryCompile(c, SHOP, ps)
          expect(out === undefined, `${name} refuses`).toBe(refusedBy.includes(name))
          if (out) expect(validateResult(out).problems, name).toEqual([])
        }
      })

    it('long and odd policy names and rule ids: object names the API server takes', () => {
      const problems: string[] = []
      const ids = [
        'x'.repeat(300),
        `${'a'.repeat(231)}-${'b'.repeat(20)}`,
        'Web_To.API (v2)',
        '--',
        'ünïcode-ünïcode',
      ]
      // two rule ids that give one DNS name
      const twins = [
        rule('no.ssh', web, api, [tcp(22)], 'deny'),
        rule('no_ssh', web, api, [tcp(23)], 'deny'),
      ]
      for (const [name, c] of TARGETS) {
        const out = tryCompile(c, SHOP, enforced([policy('shop', { app: 'shop' }, twins)]))
        if (out) problems.push(...validateResult(out).problems.map((p) => `${name}: ${p}`))
      }
      for (const [name, c] of TARGETS)
        for (const pol of ['shop', 'Shop_Team.Payments'])
          for (const id of ids)
            for (const action of ['allow', 'deny'] as const) {
              const ps = enforced([
                policy(pol, { app: 'shop' }, [rule(id, web, api, [tcp(443)], action)]),
              ])
              const out = tryCompile(c, SHOP, ps)
              if (out) problems.push(...validateResult(out).problems.map((p) => `${name}: ${p}`))
            }
      expect(problems).toEqual([])
    })

    it('the split lists mean what the rule means (cilium and calico checkers against the model)', () => {
      const pods = new PodGroupResolver(SHOP, { now: NOW }).pods
      const byIp = new Map(pods.flatMap((p) => p.workload.addresses.map((a) => [a.ip, p] as const)))
      const end = (ip: string): CheckEndpoint => {
        const pod = byIp.get(ip)
        return pod ? { ip, pod } : { ip }
      }
      const checkers: readonly (readonly [
        string,
        (ps: PolicySet) => K8sObject[],
        typeof ciliumAllows,
      ])[] = [
        ['cilium', (ps) => allObjects(planCilium(SHOP, ps, { now: NOW })), ciliumAllows],
        ['calico', (ps) => allObjects(planCalico(SHOP, ps, { now: NOW })), calicoAllows],
      ]
      const flows: readonly (readonly [Rule, string, number[]])[] = [
        [ruleOf('60 TCP ports'), '10.244.1.11', Array.from({ length: 130 }, (_, i) => 995 + i)],
        [ruleOf('300 CIDR blocks'), '192.0.4.40', [443]],
        [ruleOf('a block less itself'), '10.1.2.3', [443]],
        [ruleOf('a block less 300 excepts'), '192.0.4.40', [443, 80]],
      ]
      const dsts = ['192.0.0.1', '192.0.1.2', '192.0.4.43', '192.0.5.1', '192.1.0.1']
      for (const [name, objects, allows] of checkers)
        for (const [r, dst, ports] of flows) {
          const ps = enforced([policy('shop', { app: 'shop' }, [r])])
          const objs = objects(ps)
          for (const d of [dst, ...dsts])
            for (const port of ports) {
              const want = evaluate(SHOP, ps, {
                src: '10.244.1.10',
                dst: d,
                protocol: 6,
                dstPort: port,
                at: NOW.getTime(),
              }).decision
              const got = allows(objs, end('10.244.1.10'), end(d), 6, port) ? 'allowed' : 'denied'
              expect(got, `${name} ${r.id} -> ${d} tcp/${port}`).toBe(want)
            }
        }
    })
  })

  describe('the demo', () => {
    const TMP = mkdtempSync(path.join(tmpdir(), 'bulkhead-schemas-'))
    afterAll(() => rmSync(TMP, { recursive: true, force: true }))
    const DEMO = fileURLToPath(new URL('../../examples/demo/', import.meta.url))

    it('the files `bulkhead demo` writes (kubernetes, cilium), and calico on the same policy', async () => {
      const out = path.join(TMP, 'out')
      const res = await runDemo({ dir: DEMO, out, log: () => undefined })
      let documents = 0
      for (const target of ['kubernetes', 'cilium']) {
        const files = readdirSync(path.join(out, target))
        expect(files.length, target).toBeGreaterThan(0)
        for (const f of files) {
          const content = readFileSync(path.join(out, target, f), 'utf8')
          documents += validateResult({ artefacts: [{ path: f, content }] }).documents
          expect(validateManifests(`${target}/${f}`, content)).toEqual([])
        }
      }
      expect(documents).toBeGreaterThan(0)
      // calico (and kubernetes with anp) are not demo targets: compile the demo's recommended
      // policy for its pods as the demo does for cilium
      const at = new Date(res.map.window.end)
      const ws = await loadWorkspace(DEMO, at)
      const { policySet } = await loadOrThrow(DEMO, at, path.join(out, 'policy'))
      const pods = ws.inventory.workloads.filter((w) => w.labels['namespace'] !== undefined)
      const part = policyFor(policySet, pods, at.getTime())
      for (const [name, c] of TARGETS) {
        const r = c.compile(
          ws.inventory,
          { ...part.policySet, enforcement: policySet.enforcement },
          { now: at, direction: 'both', hosts: pods.map((p) => p.name) },
        )
        const v = validateResult(r)
        expect(v.documents, name).toBeGreaterThan(0)
        expect(v.problems, name).toEqual([])
      }
    }, 120_000)
  })
})
