/**
 * @module What Calico's API server and Cilium's agent check in Go beyond the CRD schemas, for the
 * fields Bulkhead writes, run by hand over compiled documents (test/compile/schemas.test.ts runs
 * it beside the schema check). Transcribed from the upstream sources, read at these commits:
 *
 * - Calico selector syntax: projectcalico/calico `libcalico-go/lib/selector/tokenizer/tokenizer.go`
 *   (commit d4bced9ad8c266121dc6675980c7cfe8cf08355d) and `libcalico-go/lib/selector/parser/parser.go`
 *   (commit a834c00ed9dedc4234977d46c610cfa14e3c5b47). Strings are quoted with `'` or `"` and end
 *   at the next quote of the same kind: there is no escape, so a value holding both quotes has no
 *   literal. Label names are 1–512 characters of `[A-Za-z0-9_./-]`. `has(k)`, `all()`,
 *   `global()`, `k == 'v'`, `k != 'v'`, `k in {'a', 'b'}`, `k not in {...}`, `!`, `&&`, `||`,
 *   parentheses. The meaning of each node follows `parser/ast.go`: `==` and `in` need the label,
 *   `!=` and `not in` hold when it is absent.
 * - Calico resource validation: projectcalico/calico `libcalico-go/lib/validator/v3/validator.go`
 *   (commit 00c10b0abb464762b174f128a25ccd584fc3e16c): policy names (`networkPolicyNameRegex`,
 *   `globalNetworkPolicyNameRegex`, at most 253 characters), `validateSelector` (every selector
 *   parses), `global()` only alone in an EntityRule namespaceSelector, `validateRule` (ports only
 *   with a protocol that has ports; ICMP fields only with protocol ICMP/ICMPv6; ipVersion agrees
 *   with ICMP/ICMPv6 and with the nets; no rule with both IPv4 and IPv6 CIDRs across
 *   `source.nets`, `source.notNets`, `destination.nets`, `destination.notNets`),
 *   `validateProtocol` (1–255 or a known name), `validatePort` (1–65535, min ≤ max),
 *   `validateICMPFields` (code needs a type), `actionRegex`, the `net` tag on nets (strictly
 *   masked CIDR), repeated `types`.
 * - Cilium: cilium/cilium `pkg/policy/api/rule_validation.go` (commit
 *   005aed241b0ca39c91b31a14352b299187259af2): one L3 peer kind per rule entry ("Combining
 *   FromEndpoints and FromCIDRSet is not supported yet"), `icmps` never with `toPorts` in one
 *   entry, at most 40 ports per PortRule and 40 ICMP fields per ICMPRule, ports that parse as
 *   uint16 (ParseUint base 0), protocols TCP/UDP/SCTP/ANY, ICMP family IPv4/IPv6, CIDRRule
 *   prefixes that parse with every except inside the prefix, known entities; endpoint selectors
 *   through Cilium's `ValidateLabelSelector` (`pkg/labels`: a key is an optional `source:`
 *   prefix of `[A-Za-z0-9]+` and a Kubernetes qualified name; values are Kubernetes label values).
 *   `endPort` at least `port` is the Kubernetes rule Cilium documents for port ranges.
 */
import ipaddr from 'ipaddr.js'

type Json = Record<string, unknown>
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

// ---------------------------------------------------------------------------------------------
// Calico selectors

type Tok =
  | { kind: 'label' | 'string' | 'has'; value: string }
  | {
      kind:
        | '('
        | ')'
        | '{'
        | '}'
        | ','
        | '=='
        | '!='
        | '!'
        | '&&'
        | '||'
        | 'in'
        | 'not in'
        | 'contains'
        | 'starts with'
        | 'ends with'
        | 'all'
        | 'global'
        | 'eof'
    }

/** A parsed Calico selector (parser/ast.go). */
export type CalicoNode =
  | { op: 'all' | 'global' }
  | { op: 'has'; key: string }
  | { op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; key: string; value: string }
  | { op: 'in' | 'not in'; key: string; values: string[] }
  | { op: '!'; node: CalicoNode }
  | { op: '&&' | '||'; nodes: CalicoNode[] }

const identChar = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_./-]/.test(c)

function cutIdent(input: string): [string, string] {
  let i = 0
  while (identChar(input[i])) i++
  const ident = input.slice(0, i)
  if (ident.length === 0) throw new Error('expected identifier')
  if (ident.length > 512) throw new Error(`label too long: ${ident}`)
  return [ident, input.slice(i)]
}

const trimWs = (s: string): string => s.replace(/^[ \t]*/, '')

/** tokenizer.go's AppendTokens. */
function tokenize(selector: string): Tok[] {
  const out: Tok[] = []
  let input = selector
  for (;;) {
    input = trimWs(input)
    if (input.length === 0) {
      out.push({ kind: 'eof' })
      return out
    }
    const c = input[0]
    const last = out[out.length - 1]?.kind
    if (c === '(' || c === ')' || c === '{' || c === '}' || c === ',') {
      out.push({ kind: c })
      input = input.slice(1)
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, 1)
      if (end < 0) throw new Error('unterminated string')
      out.push({ kind: 'string', value: input.slice(1, end) })
      input = input.slice(end + 1)
    } else if (c === '=') {
      if (!input.startsWith('==')) throw new Error('expected ==')
      out.push({ kind: '==' })
      input = input.slice(2)
    } else if (c === '!') {
      if (input.startsWith('!=')) {
        out.push({ kind: '!=' })
        input = input.slice(2)
      } else {
        out.push({ kind: '!' })
        input = input.slice(1)
      }
    } else if (c === '&') {
      if (!input.startsWith('&&')) throw new Error('expected &&')
      out.push({ kind: '&&' })
      input = input.slice(2)
    } else if (c === '|') {
      if (!input.startsWith('||')) throw new Error('expected ||')
      out.push({ kind: '||' })
      input = input.slice(2)
    } else if (last === 'label') {
      const ops = [
        ['contains'],
        ['starts', 'with'],
        ['ends', 'with'],
        ['not', 'in'],
        ['in'],
      ] as const
      const op = ops.find((words) => cutOperator(words))
      if (op === undefined) throw new Error('expected operator after label')
      out.push({ kind: op.join(' ') as 'in' })
    } else if (input.startsWith('has(')) {
      const [ident, rest] = cutIdent(trimWs(input.slice(4)))
      const r = trimWs(rest)
      if (!r.startsWith(')')) throw new Error("no closing ')' after has(")
      out.push({ kind: 'has', value: ident })
      input = r.slice(1)
    } else if (input.startsWith('all(') || input.startsWith('global(')) {
      const kind = input.startsWith('all(') ? 'all' : 'global'
      const r = trimWs(input.slice(kind.length + 1))
      if (!r.startsWith(')')) throw new Error(`no closing ')' after ${kind}(`)
      out.push({ kind })
      input = r.slice(1)
    } else {
      const [ident, rest] = cutIdent(input)
      out.push({ kind: 'label', value: ident })
      input = rest
    }
  }
  /** cutPrefixCheckBreak / cutMultiWordPrefixCheckBreak: words separated by optional blanks. */
  function cutOperator(words: readonly string[]): boolean {
    let rest = input
    for (const w of words) {
      if (!rest.startsWith(w)) return false
      rest = trimWs(rest.slice(w.length))
    }
    // the word boundary is checked after the last word, before trimming
    const lastWord = words[words.length - 1] ?? ''
    let probe = input
    for (const w of words.slice(0, -1)) probe = trimWs(probe.slice(w.length))
    const afterLast = probe.slice(lastWord.length)
    if (identChar(afterLast[0])) return false
    input = afterLast
    return true
  }
}

/**
 * Parses a Calico selector as libcalico-go's parser does.
 * @throws Error with the parser's reason when Calico refuses it.
 */
export function parseCalicoSelector(selector: string): CalicoNode {
  const toks = tokenize(selector)
  let i = 0
  const peek = (): Tok => toks[i] ?? { kind: 'eof' }
  if (peek().kind === 'eof') return { op: 'all' }
  const or = (): CalicoNode => {
    const nodes = [and()]
    while (peek().kind === '||') {
      i++
      nodes.push(and())
    }
    return nodes.length === 1 ? (nodes[0] as CalicoNode) : { op: '||', nodes }
  }
  const and = (): CalicoNode => {
    const nodes = [operation()]
    while (peek().kind === '&&') {
      i++
      nodes.push(operation())
    }
    return nodes.length === 1 ? (nodes[0] as CalicoNode) : { op: '&&', nodes }
  }
  const operation = (): CalicoNode => {
    let negated = false
    while (peek().kind === '!') {
      negated = !negated
      i++
    }
    const t = peek()
    let node: CalicoNode
    if (t.kind === 'has') {
      node = { op: 'has', key: t.value }
      i++
    } else if (t.kind === 'all' || t.kind === 'global') {
      node = { op: t.kind }
      i++
    } else if (t.kind === 'label') {
      const op = toks[i + 1]
      const lit = toks[i + 2]
      if (op === undefined || lit === undefined) throw new Error('unexpected end in op')
      if (
        op.kind === '==' ||
        op.kind === '!=' ||
        op.kind === 'contains' ||
        op.kind === 'starts with' ||
        op.kind === 'ends with'
      ) {
        if (lit.kind !== 'string') throw new Error('Expected string')
        node = { op: op.kind, key: t.value, value: lit.value }
        i += 3
      } else if (op.kind === 'in' || op.kind === 'not in') {
        if (lit.kind !== '{') throw new Error('Expected set literal')
        i += 3
        const values: string[] = []
        for (;;) {
          const v = peek()
          if (v.kind !== 'string') break
          values.push(v.value)
          i++
          if (peek().kind !== ',') break
          i++
        }
        if (peek().kind !== '}') throw new Error('Expected }')
        i++
        node = { op: op.kind, key: t.value, values }
      } else throw new Error(`Expected == or != not ${op.kind}`)
    } else if (t.kind === '(') {
      i++
      node = or()
      if (peek().kind !== ')') throw new Error('Expected )')
      i++
    } else throw new Error(`Unexpected token: ${t.kind}`)
    return negated ? { op: '!', node } : node
  }
  const root = or()
  if (peek().kind !== 'eof' || i !== toks.length - 1)
    throw new Error('unexpected content at end of selector')
  return root
}

/** Whether a parsed Calico selector matches a label map (parser/ast.go). */
export function calicoEval(n: CalicoNode, labels: Readonly<Record<string, string>>): boolean {
  const get = (k: string): string | undefined => (Object.hasOwn(labels, k) ? labels[k] : undefined)
  switch (n.op) {
    case 'all':
      return true
    case 'global':
      return false
    case 'has':
      return get(n.key) !== undefined
    case '==':
      return get(n.key) === n.value
    case '!=':
      return get(n.key) !== n.value
    case 'contains':
      return get(n.key)?.includes(n.value) ?? false
    case 'starts with':
      return get(n.key)?.startsWith(n.value) ?? false
    case 'ends with':
      return get(n.key)?.endsWith(n.value) ?? false
    case 'in': {
      const v = get(n.key)
      return v !== undefined && n.values.includes(v)
    }
    case 'not in': {
      const v = get(n.key)
      return !(v !== undefined && n.values.includes(v))
    }
    case '!':
      return !calicoEval(n.node, labels)
    case '&&':
      return n.nodes.every((c) => calicoEval(c, labels))
    case '||':
      return n.nodes.some((c) => calicoEval(c, labels))
  }
}

/** Kubernetes label selector semantics (matchLabels and matchExpressions, ANDed). */
export function k8sSelectorMatches(
  s: {
    matchLabels?: Record<string, string>
    matchExpressions?: { key: string; operator: string; values?: string[] }[]
  },
  labels: Readonly<Record<string, string>>,
): boolean {
  const get = (k: string): string | undefined => (Object.hasOwn(labels, k) ? labels[k] : undefined)
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (get(k) !== v) return false
  for (const e of s.matchExpressions ?? []) {
    const v = get(e.key)
    const inSet = v !== undefined && (e.values ?? []).includes(v)
    if (e.operator === 'In' && !inSet) return false
    if (e.operator === 'NotIn' && inSet) return false
    if (e.operator === 'Exists' && v === undefined) return false
    if (e.operator === 'DoesNotExist' && v !== undefined) return false
  }
  return true
}

// ---------------------------------------------------------------------------------------------
// Calico resources

const LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?'
const SUBDOMAIN_FMT = `${LABEL_FMT}(\\.${LABEL_FMT})*`
const NP_NAME = new RegExp(
  `^((${LABEL_FMT})(\\.${LABEL_FMT})?|((?:knp|ossg)\\.default\\.(${SUBDOMAIN_FMT})))$`,
)
const GNP_NAME = new RegExp(`^(${LABEL_FMT}\\.)?${LABEL_FMT}$`)
const PROTOCOL_NAMES = ['TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'UDPLite']
const PORT_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'UDPLite', 6, 17, 132, 136]

/** A CIDR (or address) as Calico's `cnet.ParseCIDROrIP` reads it, or undefined. */
function parseNet(text: string): { family: 4 | 6; masked: boolean } | undefined {
  try {
    const [addr, bits] = text.includes('/')
      ? ipaddr.parseCIDR(text)
      : [ipaddr.parse(text), ipaddr.parse(text).kind() === 'ipv4' ? 32 : 128]
    const family = addr.kind() === 'ipv4' ? 4 : 6
    const net =
      family === 4
        ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${bits}`)
        : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${bits}`)
    return { family, masked: net.toNormalizedString() === addr.toNormalizedString() }
  } catch {
    return undefined
  }
}

function calicoPort(p: unknown): string | undefined {
  const ok = (lo: number, hi: number): boolean => lo >= 1 && hi <= 65535 && lo <= hi
  if (typeof p === 'number') return Number.isInteger(p) && ok(p, p) ? undefined : `port ${p}`
  if (typeof p === 'string') {
    const m = /^(\d+)(?::(\d+))?$/.exec(p)
    if (m) {
      const lo = Number(m[1])
      const hi = m[2] === undefined ? lo : Number(m[2])
      return ok(lo, hi) ? undefined : `port range ${p}`
    }
  }
  return `port ${JSON.stringify(p)}`
}

/** Problems Calico's validator (and selector parser) finds in one Calico policy document. */
export function calicoProblems(doc: Json): string[] {
  const out: string[] = []
  const kind = String(doc['kind'])
  const name = String(isObj(doc['metadata']) ? doc['metadata']['name'] : '')
  const global = kind.includes('Global')
  if (name.length > 253 || !(global ? GNP_NAME : NP_NAME).test(name))
    out.push(`name ${JSON.stringify(name)} is not a ${kind} name`)
  const spec = isObj(doc['spec']) ? doc['spec'] : {}
  const selector = (where: string, s: unknown, globalOk: boolean): void => {
    if (s === undefined) return
    if (typeof s !== 'string') {
      out.push(`${where}: not a string`)
      return
    }
    try {
      parseCalicoSelector(s)
    } catch (e) {
      out.push(`${where} ${JSON.stringify(s)}: ${(e as Error).message}`)
      return
    }
    if (s.includes('global()') && !(globalOk && s.trim() === 'global()'))
      out.push(`${where}: global() only alone in a namespaceSelector`)
  }
  selector('spec.selector', spec['selector'], false)
  const types = arr(spec['types'])
  if (new Set(types).size !== types.length) out.push('types repeated')
  for (const t of types) if (t !== 'Ingress' && t !== 'Egress') out.push(`type ${String(t)}`)
  for (const dir of ['ingress', 'egress'])
    arr(spec[dir]).forEach((r, i) => {
      if (!isObj(r)) return
      const at = `${dir}[${i}]`
      if (!/^(Allow|Deny|Log|Pass)$/.test(String(r['action']))) out.push(`${at}.action`)
      const proto = r['protocol']
      if (proto !== undefined) {
        if (typeof proto === 'number') {
          if (!Number.isInteger(proto) || proto < 1 || proto > 255)
            out.push(`${at}.protocol ${proto}`)
        } else if (typeof proto !== 'string' || !PROTOCOL_NAMES.includes(proto))
          out.push(`${at}.protocol ${JSON.stringify(proto)}`)
      }
      const icmp = r['icmp']
      if (icmp !== undefined) {
        if (proto !== 'ICMP' && proto !== 'ICMPv6' && proto !== 1 && proto !== 58)
          out.push(`${at}: ICMP fields need protocol ICMP or ICMPv6`)
        if (isObj(icmp)) {
          const { type, code } = icmp
          if (code !== undefined && type === undefined) out.push(`${at}: ICMP code without type`)
          if (type !== undefined && !(Number.isInteger(type) && (type as number) >= 0))
            out.push(`${at}.icmp.type`)
          if (typeof type === 'number' && type > 254) out.push(`${at}.icmp.type ${type}`)
          if (typeof code === 'number' && (code < 0 || code > 255)) out.push(`${at}.icmp.code`)
        }
      }
      const v = r['ipVersion']
      if ((proto === 'ICMP' || proto === 1) && v !== undefined && v !== 4)
        out.push(`${at}: protocol ICMP needs ipVersion 4`)
      if ((proto === 'ICMPv6' || proto === 58) && v !== undefined && v !== 6)
        out.push(`${at}: protocol ICMPv6 needs ipVersion 6`)
      let seen4 = false
      let seen6 = false
      for (const end of ['source', 'destination']) {
        const e = isObj(r[end]) ? r[end] : {}
        selector(`${at}.${end}.selector`, e['selector'], false)
        selector(`${at}.${end}.notSelector`, e['notSelector'], false)
        selector(`${at}.${end}.namespaceSelector`, e['namespaceSelector'], true)
        for (const f of ['ports', 'notPorts']) {
          const ports = arr(e[f])
          if (ports.length > 0 && !PORT_PROTOCOLS.includes(proto as string))
            out.push(
              `${at}.${end}.${f}: rules that specify ports must set protocol to TCP or UDP or SCTP`,
            )
          for (const p of ports) {
            const problem = calicoPort(p)
            if (problem !== undefined) out.push(`${at}.${end}.${f}: ${problem}`)
          }
        }
        for (const f of ['nets', 'notNets']) {
          let v4 = false
          let v6 = false
          for (const n of arr(e[f])) {
            const net = parseNet(String(n))
            if (net === undefined) out.push(`${at}.${end}.${f}: invalid CIDR ${String(n)}`)
            else {
              if (!net.masked) out.push(`${at}.${end}.${f}: ${String(n)} is not strictly masked`)
              v4 ||= net.family === 4
              v6 ||= net.family === 6
            }
          }
          if (v !== undefined && ((v4 && v !== 4) || (v6 && v !== 6)))
            out.push(`${at}.${end}.${f}: rule IP version doesn't match CIDR version`)
          if ((v4 && seen6) || (v6 && seen4) || (v4 && v6))
            out.push(`${at}.${end}.${f}: rule contains both IPv4 and IPv6 CIDRs`)
          seen4 ||= v4
          seen6 ||= v6
        }
      }
    })
  return out
}

// ---------------------------------------------------------------------------------------------
// Cilium

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/
const ENTITIES = [
  'all',
  'world',
  'world-ipv4',
  'world-ipv6',
  'cluster',
  'host',
  'init',
  'ingress',
  'unmanaged',
  'remote-node',
  'health',
  'kube-apiserver',
  'none',
]

/** Cilium's label key check: optional `source:` then a Kubernetes qualified name. */
function ciliumKeyProblem(key: string): string | undefined {
  let k = key
  const colon = k.indexOf(':')
  if (colon >= 0) {
    const source = k.slice(0, colon)
    k = k.slice(colon + 1)
    if (!/^[A-Za-z0-9]+$/.test(source)) return `label source of ${JSON.stringify(key)}`
    if (k.includes(':')) return `more than one source delimiter in ${JSON.stringify(key)}`
  }
  const slash = k.indexOf('/')
  const prefix = slash < 0 ? undefined : k.slice(0, slash)
  const nm = k.slice(slash + 1)
  if (
    nm.length > 63 ||
    !QUALIFIED_NAME.test(nm) ||
    (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
  )
    return `label key ${JSON.stringify(key)} is not a qualified name`
  return undefined
}

function ciliumSelectorProblems(s: unknown, at: string): string[] {
  if (!isObj(s)) return [`${at}: no label selector`]
  const out: string[] = []
  const value = (v: unknown): void => {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      out.push(`${at}: label value ${JSON.stringify(v)}`)
  }
  for (const [k, v] of Object.entries(isObj(s['matchLabels']) ? s['matchLabels'] : {})) {
    const p = ciliumKeyProblem(k)
    if (p) out.push(`${at}: ${p}`)
    value(v)
  }
  for (const e of arr(s['matchExpressions'])) {
    if (!isObj(e)) continue
    const p = ciliumKeyProblem(String(e['key']))
    if (p) out.push(`${at}: ${p}`)
    const op = e['operator']
    const values = arr(e['values'])
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) out.push(`${at}: ${op} without values`)
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) out.push(`${at}: ${op} with values`)
    } else out.push(`${at}: operator ${JSON.stringify(op)}`)
    values.forEach(value)
  }
  return out
}

function ciliumCidrRule(c: unknown, at: string): string[] {
  if (!isObj(c)) return [`${at}: not a CIDRRule`]
  const text = String(c['cidr'])
  if (!ipaddr.isValidCIDR(text)) return [`${at}: unable to parse CIDRRule ${text}`]
  const prefix = ipaddr.parseCIDR(text)
  const out: string[] = []
  for (const e of arr(c['except'])) {
    if (!ipaddr.isValidCIDR(String(e))) {
      out.push(`${at}: except ${String(e)}`)
      continue
    }
    const [addr] = ipaddr.parseCIDR(String(e))
    if (addr.kind() !== prefix[0].kind() || !addr.match(prefix))
      out.push(`${at}: allow CIDR prefix ${text} does not contain exclude CIDR prefix ${String(e)}`)
  }
  return out
}

/** Problems Cilium's `Rule.Sanitize` finds in one CiliumNetworkPolicy / CCNP document. */
export function ciliumProblems(doc: Json): string[] {
  const spec = isObj(doc['spec']) ? doc['spec'] : {}
  const out = ciliumSelectorProblems(spec['endpointSelector'], 'endpointSelector')
  for (const [dir, peer] of [
    ['ingress', 'from'],
    ['ingressDeny', 'from'],
    ['egress', 'to'],
    ['egressDeny', 'to'],
  ] as const)
    arr(spec[dir]).forEach((r, i) => {
      if (!isObj(r)) return
      const at = `${dir}[${i}]`
      const l3 = [
        'Endpoints',
        'CIDR',
        'CIDRSet',
        'Entities',
        'Nodes',
        'Groups',
        'Services',
        'FQDNs',
      ]
        .map((m) => `${peer}${m}`)
        .filter((m) => arr(r[m]).length > 0)
      if (l3.length > 1) out.push(`${at}: Combining ${l3.join(' and ')} is not supported yet`)
      if (arr(r['icmps']).length > 0 && arr(r['toPorts']).length > 0)
        out.push(`${at}: The ICMPs block may only be present without ToPorts`)
      arr(r[`${peer}Endpoints`]).forEach((s, j) =>
        out.push(...ciliumSelectorProblems(s, `${at}.${peer}Endpoints[${j}]`)),
      )
      arr(r[`${peer}CIDRSet`]).forEach((c, j) =>
        out.push(...ciliumCidrRule(c, `${at}.${peer}CIDRSet[${j}]`)),
      )
      for (const e of arr(r[`${peer}Entities`]))
        if (!ENTITIES.includes(String(e))) out.push(`${at}: unsupported entity ${String(e)}`)
      arr(r['toPorts']).forEach((pr, j) => {
        const ports = arr(isObj(pr) ? pr['ports'] : [])
        if (ports.length > 40) out.push(`${at}.toPorts[${j}]: too many ports, the max is 40`)
        for (const p of ports) {
          if (!isObj(p)) continue
          const port = p['port']
          if (typeof port !== 'string' || port === '') {
            out.push(`${at}.toPorts[${j}]: Port must be specified`)
            continue
          }
          const n = /^\d+$/.test(port) ? Number(port) : NaN
          if (!(n >= 0 && n <= 65535)) out.push(`${at}.toPorts[${j}]: Unable to parse port ${port}`)
          const raw = p['protocol'] ?? 'ANY'
          const proto = typeof raw === 'string' ? raw.toUpperCase() : JSON.stringify(raw)
          if (!['TCP', 'UDP', 'SCTP', 'ANY'].includes(proto))
            out.push(`${at}.toPorts[${j}]: protocol ${proto}`)
          const end = p['endPort']
          if (end !== undefined && (typeof end !== 'number' || end < n || end > 65535))
            out.push(`${at}.toPorts[${j}]: endPort ${JSON.stringify(end)} for port ${port}`)
        }
      })
      arr(r['icmps']).forEach((ir, j) => {
        const fields = arr(isObj(ir) ? ir['fields'] : [])
        if (fields.length > 40) out.push(`${at}.icmps[${j}]: too many types, the max is 40`)
        for (const f of fields) {
          if (!isObj(f)) continue
          const fam = f['family']
          if (fam !== undefined && fam !== 'IPv4' && fam !== 'IPv6' && fam !== '')
            out.push(`${at}.icmps[${j}]: wrong family ${JSON.stringify(fam)}`)
          const t = f['type']
          if (typeof t === 'number' && (t < 0 || t > 255)) out.push(`${at}.icmps[${j}]: type ${t}`)
        }
      })
    })
  return out
}

/**
 * Returns `objects` when every Calico and Cilium document among them passes
 * {@link calicoProblems} / {@link ciliumProblems}; throws an Error listing the problems otherwise.
 * For the property tests that compile many estates (wrap the plan's objects with it).
 */
export function upstreamChecked<T>(objects: readonly T[]): T[] {
  const problems = objects.flatMap((o) => {
    const doc = o as unknown as Json
    const api = String(doc['apiVersion'])
    const name = String(isObj(doc['metadata']) ? doc['metadata']['name'] : '')
    const ps = api.startsWith('cilium.io/')
      ? ciliumProblems(doc)
      : api.startsWith('projectcalico.org/')
        ? calicoProblems(doc)
        : []
    return ps.map((p) => `${String(doc['kind'])} ${name}: ${p}`)
  })
  if (problems.length > 0) throw new Error(`refused upstream:\n${problems.join('\n')}`)
  return [...objects]
}
