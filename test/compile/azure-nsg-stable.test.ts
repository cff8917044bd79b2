/**
 * @module Tests that azure-nsg objects keep their identity across edits: adding one rule to a
 * policy adds its security rules and neither renames, re-keys nor (but for a hash collision,
 * which the property bounds) re-prioritises any other; NSGs keep their Azure names and Terraform
 * keys when a rule touching one class is added, a rule is removed or a workload that sorts first
 * is added, and in random estates; plus the name rules of rules and NSGs (80 characters, Azure's
 * characters, unique without case, hashed when the policy, rule id or labels are not plain).
 */
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  ALLOW_PRIORITIES,
  azureNsgCompiler,
  DENY_PRIORITIES,
  nsgNames,
  nsgPriorities,
  nsgReadableName,
  nsgRuleName,
  planAzureNsg,
  type AzureNsgPlan,
} from '../../src/compile/index.js'
import {
  formatLabelSet,
  labelSet,
  parseService,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Service,
} from '../../src/core/index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { inventoryArb, policySetArb, ruleArb, SEED, TIMES } from '../helpers/model.js'
import { inventoryOf, workload } from '../helpers/workloads.js'
import { cidr, lbl, policy, rule, tcp } from './kubernetes-fixture.js'

const NOW = new Date('2026-11-22T12:00:00Z')
const FIXTURE = fileURLToPath(new URL('../fixtures/compile-azure-nsg/', import.meta.url))

type Resources = Record<string, Record<string, Record<string, unknown>>>

function resources(inventory: Inventory, ps: PolicySet): Resources {
  const r = azureNsgCompiler.compile(inventory, ps, { now: NOW })
  return (JSON.parse(r.artefacts[0]?.content ?? '{}') as { resource: Resources }).resource
}

/** `ps` with `rule` inserted as the first rule of its first policy. */
function withFirstRule(ps: PolicySet, rule: Rule): PolicySet {
  const [first, ...rest] = ps.policies
  if (!first) throw new Error('no policy')
  return { ...ps, policies: [{ ...first, rules: [rule, ...first.rules] }, ...rest] }
}

function svc(text: string): Service {
  const s = parseService(text)
  if ('error' in s) throw new Error(s.error)
  return s
}

/** `r` with the services azure-nsg cannot express (ICMP types, SCTP…) as tcp/443. */
function supported(r: Rule): Rule {
  return {
    ...r,
    services: r.services.map((s) =>
      s.protocol === 'any' || s.protocol === 6 || s.protocol === 17 ? s : svc('tcp/443'),
    ),
  }
}

/** `ps` with every rule {@link supported} and every workload enforced. */
function enforceAll(ps: PolicySet): PolicySet {
  return {
    policies: ps.policies.map((p) => ({ ...p, rules: p.rules.map(supported) })),
    enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
  }
}

/**
 * A random estate with every workload enforced, and an edit of one of its policies: a rule
 * `inserted` at a random place or, when `remove` gives true, a rule removed.
 */
function editArb(
  remove: fc.Arbitrary<boolean>,
): fc.Arbitrary<{ inventory: Inventory; ps: PolicySet; ps2: PolicySet; policy: Policy }> {
  return fc
    .tuple(
      inventoryArb,
      policySetArb.filter((ps) => ps.policies.length > 0),
      ruleArb('inserted'),
      fc.nat(),
      fc.nat(),
      remove,
    )
    .map(([inventory, raw, inserted, which, at, rm]) => {
      const ps = enforceAll(raw)
      const k = which % ps.policies.length
      const policy = ps.policies[k] as Policy
      const rules = [...policy.rules]
      if (rm && rules.length > 0) rules.splice(at % rules.length, 1)
      else rules.splice(at % (rules.length + 1), 0, supported(inserted))
      const ps2 = { ...ps, policies: ps.policies.map((p, i) => (i === k ? { ...p, rules } : p)) }
      return { inventory, ps, ps2, policy }
    })
}

describe('azure-nsg: one rule added is a one-rule diff', () => {
  for (const [what, added] of [
    [
      'an allow rule',
      rule('web-to-api-metrics', [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(9100)]),
    ],
    [
      'a deny rule',
      rule('no-web-to-db', [lbl({ role: 'web' })], [lbl({ role: 'db' })], [svc('any')], 'deny'),
    ],
  ] as const) {
    it(`${what} first in the policy adds its security rules and changes no other`, async () => {
      const { inventory, policySet: ps } = await loadWorkspace(FIXTURE, NOW)
      const before = resources(inventory, ps)
      const after = resources(inventory, withFirstRule(ps, added))
      const rulesBefore = before['azurerm_network_security_rule'] ?? {}
      const rulesAfter = after['azurerm_network_security_rule'] ?? {}
      // every security rule there was is there under the same key, name and priority, unchanged
      for (const [key, body] of Object.entries(rulesBefore))
        expect(rulesAfter[key], key).toEqual(body)
      // the new keys are the added rule's, named after it
      const added_ = Object.keys(rulesAfter).filter((k) => !(k in rulesBefore))
      expect(added_.length).toBeGreaterThan(0)
      for (const k of added_) {
        expect(String(rulesAfter[k]?.['name'])).toContain(`.payments-prod.${added.id}.`)
        expect(rulesAfter[k]?.['access']).toBe(added.action === 'deny' ? 'Deny' : 'Allow')
      }
      // NSGs and their associations are untouched (the rule applies to the same classes)
      for (const type of [
        'azurerm_network_security_group',
        'azurerm_network_interface_security_group_association',
      ])
        expect(after[type], type).toEqual(before[type])
    })
  }

  it('random estates: other rules keep name, key and, but for a hash collision run, priority', () => {
    let kept = 0
    let moved = 0
    fc.assert(
      fc.property(editArb(fc.constant(false)), ({ inventory, ps, ps2, policy }) => {
        const options = { now: new Date(TIMES[5] ?? 0), loadBalancerProbes: false }
        const a = planAzureNsg(inventory, ps, options)
        const b = planAzureNsg(inventory, ps2, options)
        const r = compare(a, b, { policy: policy.name, id: 'inserted' })
        kept += r.kept
        moved += r.moved
      }),
      { seed: SEED, numRuns: 150, endOnFailure: true },
    )
    expect(kept).toBeGreaterThan(100)
    // hash collisions are rare with a few rules in bands of 900 and 3095 priorities
    expect(moved).toBeLessThan(kept / 20)
  })
})

/**
 * Checks plan `b` (= `a` plus rule `added`) against `a`: in every NSG with the same members, each
 * security rule of `a` is in `b` by name, and one whose priority changed was pushed along a run
 * of taken priorities that starts at one of the added security rules (linear probing).
 */
function compare(
  a: AzureNsgPlan,
  b: AzureNsgPlan,
  added: { policy: string; id: string },
): { kept: number; moved: number } {
  let kept = 0
  let moved = 0
  for (const nsg of a.nsgs) {
    const other = b.nsgs.find((n) => n.members.join() === nsg.members.join())
    if (!other) continue // the new rule split this class of workloads
    const byName = new Map(other.rules.map((r) => [r.name, r]))
    for (const r of nsg.rules) {
      const now = byName.get(r.name)
      expect(now, r.name).toBeDefined()
      if (!now) continue
      expect(now.direction).toBe(r.direction)
      expect(now.access).toBe(r.access)
      if (now.priority === r.priority) {
        kept++
        continue
      }
      moved++
      const band = r.access === 'Deny' ? DENY_PRIORITIES : ALLOW_PRIORITIES
      const taken = new Set(
        other.rules
          .filter((x) => x.direction === r.direction && x.access === r.access && x.rule)
          .map((x) => x.priority),
      )
      const starts = other.rules
        .filter(
          (x) =>
            x.direction === r.direction &&
            x.rule?.policy === added.policy &&
            x.rule.id === added.id &&
            x.access === r.access,
        )
        .map((x) => x.priority)
      expect(
        pushedAlong(starts, r.priority, taken, band),
        `${r.name} moved from ${r.priority} to ${now.priority}`,
      ).toBe(true)
    }
  }
  return { kept, moved }
}

/**
 * True when `old` is reached from one of `starts` walking up through taken priorities (wrapping
 * round `band`): where linear probing pushes a rule when others land before it.
 */
function pushedAlong(
  starts: readonly number[],
  old: number,
  taken: ReadonlySet<number>,
  band: { readonly lo: number; readonly hi: number },
): boolean {
  const size = band.hi - band.lo + 1
  return starts.some((q) => {
    for (let s = q, n = 0; taken.has(s) && n < size; s = band.lo + ((s - band.lo + 1) % size), n++)
      if (s === old) return true
    return false
  })
}

describe('azure-nsg rule names and priorities', () => {
  it('plain identities read as they are; others are cut and hashed, within 80 characters', () => {
    expect(nsgRuleName('in', 'payments-prod', 'web-to-api', 'tcp.asg-asg')).toBe(
      'bh-in.payments-prod.web-to-api.tcp.asg-asg',
    )
    const long = nsgRuleName('out', 'p'.repeat(70), 'r', 'tcp.v4-asg')
    expect(long.length).toBeLessThanOrEqual(80)
    expect(long).toMatch(/^bh-out\.p+\.tcp\.v4-asg\.[0-9a-f]{8}$/)
    // identities that would clean to one name get different names
    const names = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a.b', 'c'],
      ['a', 'b.c'],
      ['A', 'x'],
      ['a', 'x'],
      ['a b', 'x'],
      ['a_b', 'x'],
      ['p'.repeat(80), 'x'],
      ['p'.repeat(80), 'y'],
    ].map(([p, id]) => nsgRuleName('in', p ?? '', id ?? '', 'any.any-any'))
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length)
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(80)
      expect(n).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]$/)
    }
  })

  it('two identities whose names are one (a 32-bit hash collision) are numbered apart in the NSG', async () => {
    // r949269 and r1387112 share the hash of their identity under this policy name (searched)
    const p = 'p'.repeat(80)
    expect(nsgRuleName('in', p, 'r949269', 'tcp.asg-asg')).toBe(
      nsgRuleName('in', p, 'r1387112', 'tcp.asg-asg'),
    )
    const { inventory } = await loadWorkspace(FIXTURE, NOW)
    const ps: PolicySet = {
      policies: [
        {
          name: p,
          owner: 'team',
          scope: labelSet({ app: 'payments', env: 'prod' }),
          file: 'p.yaml',
          rules: ['r949269', 'r1387112'].map((id) =>
            rule(id, [lbl({ role: 'web' })], [lbl({ role: 'api' })], [tcp(443)]),
          ),
        },
      ],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    }
    const plan = planAzureNsg(inventory, ps, { now: NOW, direction: 'ingress' })
    const api = plan.nsgs.find((n) => n.members.includes('pay-api-1'))?.rules ?? []
    const names = api.map((r) => r.name)
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(names.length)
    expect(names.filter((n) => n.endsWith('-2'))).toHaveLength(1)
    for (const n of names) expect(n.length).toBeLessThanOrEqual(80)
  })

  it('priorities: unique, in the band, each kept when another name is added (no collision)', () => {
    const names = Array.from({ length: 40 }, (_, i) => `bh-in.p.r${i}.tcp.asg-asg`)
    const p = nsgPriorities(names, ALLOW_PRIORITIES) ?? []
    expect(new Set(p).size).toBe(names.length)
    for (const x of p) {
      expect(x).toBeGreaterThanOrEqual(ALLOW_PRIORITIES.lo)
      expect(x).toBeLessThanOrEqual(ALLOW_PRIORITIES.hi)
    }
    const q = nsgPriorities(['bh-in.p.new.tcp.asg-asg', ...names], ALLOW_PRIORITIES) ?? []
    expect(q.slice(1)).toEqual(p)
    // in a crowded band, a name added moves only rules of the run of taken slots it lands in
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 40 }),
        fc.integer({ min: 40, max: 80 }),
        (all, size) => {
          const band = { lo: 101, hi: 100 + size }
          const [extra = '', ...rest] = all
          const old = nsgPriorities(rest, band) ?? []
          const now = nsgPriorities([...rest, extra], band) ?? []
          const taken = new Set(now)
          const start = now[rest.length] as number
          rest.forEach((_, i) => {
            if (old[i] !== now[i])
              expect(pushedAlong([start], old[i] as number, taken, band)).toBe(true)
          })
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
    // a band smaller than the rules: undefined (the planner numbers them in order and warns)
    expect(nsgPriorities(['a', 'b', 'c'], { lo: 101, hi: 102 })).toBeUndefined()
  })

  it('more deny rules than the deny band holds: numbered in order, compile/priorities-in-order', async () => {
    const { inventory } = await loadWorkspace(FIXTURE, NOW)
    const many = (n: number): PolicySet => ({
      policies: [
        {
          name: 'p',
          owner: 'team',
          scope: labelSet({ app: 'payments', env: 'prod' }),
          file: 'p.yaml',
          rules: Array.from({ length: n }, (_, i) =>
            rule(
              `d${i}`,
              [
                {
                  kind: 'cidr',
                  cidr: cidr(`192.0.${Math.floor(i / 250)}.${i % 250}/32`),
                  except: [],
                },
              ],
              [lbl({ role: 'db' })],
              [tcp(22)],
              'deny',
            ),
          ),
        },
      ],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    })
    const opts = { now: NOW, loadBalancerProbes: false, direction: 'ingress' as const }
    const fits = planAzureNsg(inventory, many(DENY_PRIORITIES.hi - DENY_PRIORITIES.lo + 1), opts)
    expect(fits.diagnostics.map((d) => d.code)).not.toContain('compile/priorities-in-order')
    const over = planAzureNsg(inventory, many(DENY_PRIORITIES.hi - DENY_PRIORITIES.lo + 2), opts)
    expect(over.diagnostics.map((d) => d.code)).toContain('compile/priorities-in-order')
    const rules = over.nsgs.find((n) => n.members.includes('pay-db-1'))?.rules ?? []
    const denies = rules.filter((r) => r.rule).map((r) => r.priority)
    expect(denies).toEqual(denies.map((_, k) => DENY_PRIORITIES.lo + k))
  })
})

/** Workload → its NSG's Terraform key, Azure name, association key and security rule keys. */
function nsgByWorkload(
  res: Resources,
): Map<string, { key: string; name: string; association: string; rules: string[] }> {
  const out = new Map<string, { key: string; name: string; association: string; rules: string[] }>()
  const groups = res['azurerm_network_security_group'] ?? {}
  const rules = Object.keys(res['azurerm_network_security_rule'] ?? {})
  for (const [association, body] of Object.entries(
    res['azurerm_network_interface_security_group_association'] ?? {},
  )) {
    const w = /\["(.*)"\]/.exec(String(body['network_interface_id']))?.[1] ?? ''
    const key = /azurerm_network_security_group\.([^.]+)\.id/.exec(
      String(body['network_security_group_id']),
    )?.[1]
    if (key === undefined) continue
    out.set(w, {
      key,
      name: String(groups[key]?.['name']),
      association,
      rules: rules.filter((k) => k.startsWith(`${key}__`)).sort(),
    })
  }
  return out
}

/**
 * Every workload of `before` has, in `after`, the NSG of the same key and name under the same
 * association key, and but for `touched`'s NSG the same security rule keys.
 */
function expectSameNsgs(
  before: ReturnType<typeof nsgByWorkload>,
  after: ReturnType<typeof nsgByWorkload>,
  touched: string,
): void {
  for (const [w, nsg] of before) {
    const now = after.get(w)
    expect(now?.key, w).toBe(nsg.key)
    expect(now?.name, w).toBe(nsg.name)
    expect(now?.association, w).toBe(nsg.association)
    if (w !== touched) expect(now?.rules, w).toEqual(nsg.rules)
  }
}

/** The fixture plus two workloads that every rule treats alike (only `ping`, `no-dev-to-prod`). */
async function estate(): Promise<{ inventory: Inventory; policySet: PolicySet }> {
  const { inventory, policySet } = await loadWorkspace(FIXTURE, NOW)
  const prod = { app: 'payments', env: 'prod' }
  return {
    inventory: {
      ...inventory,
      workloads: [
        ...inventory.workloads,
        workload('pay-batch-1', '10.20.4.10', { ...prod, role: 'batch' }),
        workload('pay-cache-1', '10.20.5.10', { ...prod, role: 'cache' }),
      ],
    },
    policySet,
  }
}

function withRule(ps: PolicySet, added: Rule): PolicySet {
  const [first, ...rest] = ps.policies
  if (!first) throw new Error('no policy')
  return { ...ps, policies: [{ ...first, rules: [...first.rules, added] }, ...rest] }
}

function withoutRule(ps: PolicySet, id: string): PolicySet {
  return {
    ...ps,
    policies: ps.policies.map((p) => ({ ...p, rules: p.rules.filter((r) => r.id !== id) })),
  }
}

const batchToBank = rule(
  'batch-to-bank',
  [lbl({ role: 'batch' })],
  [{ kind: 'external', name: 'bank-sftp' }],
  [tcp(22)],
)

describe('azure-nsg: an edit renames no NSG it does not split', () => {
  it('a rule added that touches one class leaves every NSG name and key as it was', async () => {
    const { inventory, policySet } = await estate()
    const before = nsgByWorkload(resources(inventory, policySet))
    const after = nsgByWorkload(resources(inventory, withRule(policySet, batchToBank)))
    // batch and cache had the same rules; now batch has one more
    expect(after.get('pay-batch-1')?.key).not.toBe(after.get('pay-cache-1')?.key)
    expectSameNsgs(before, after, 'pay-batch-1')
  })

  it('a rule removed leaves every NSG name and key as it was', async () => {
    const { inventory, policySet } = await estate()
    const base = withRule(policySet, batchToBank)
    const before = nsgByWorkload(resources(inventory, base))
    const after = nsgByWorkload(resources(inventory, withoutRule(base, 'batch-to-bank')))
    expectSameNsgs(before, after, 'pay-batch-1')
  })

  it('a workload added that sorts first joins its NSG without renaming it', async () => {
    const { inventory, policySet } = await estate()
    const before = nsgByWorkload(resources(inventory, policySet))
    const grown: Inventory = {
      ...inventory,
      workloads: [
        workload('aaa-web-0', '10.20.1.9', { app: 'payments', env: 'prod', role: 'web' }),
        workload('aaa-new-0', '10.20.6.9', { app: 'payments', env: 'prod', role: 'new' }),
        ...inventory.workloads,
      ],
    }
    const res = resources(grown, policySet)
    const after = nsgByWorkload(res)
    expect(after.get('aaa-web-0')?.key).toBe(before.get('pay-web-1')?.key)
    for (const [w, nsg] of before) expect(after.get(w), w).toEqual(nsg)
    // and the NSG objects themselves are the same but for the member list
    const groupsBefore = resources(inventory, policySet)['azurerm_network_security_group'] ?? {}
    const groupsAfter = res['azurerm_network_security_group'] ?? {}
    for (const [key, body] of Object.entries(groupsBefore))
      expect(groupsAfter[key]?.['name'], key).toBe(body['name'])
  })

  it('random estates: a label set with one NSG before and after an edit keeps its name and key', () => {
    let compared = 0
    fc.assert(
      fc.property(editArb(fc.boolean()), ({ inventory, ps, ps2 }) => {
        const options = { now: new Date(TIMES[5] ?? 0), loadBalancerProbes: false }
        const a = planAzureNsg(inventory, ps, options)
        const b = planAzureNsg(inventory, ps2, options)
        const labelsOf = new Map(inventory.workloads.map((w) => [w.name, formatLabelSet(w.labels)]))
        /** Label set → its NSG, for the label sets whose workloads are all in one NSG. */
        const single = (p: AzureNsgPlan): Map<string, { name: string; key: string }> => {
          const nsgs = new Map<string, Set<AzureNsgPlan['nsgs'][number]>>()
          for (const n of p.nsgs)
            for (const m of n.members) {
              const l = labelsOf.get(m) ?? ''
              nsgs.set(l, (nsgs.get(l) ?? new Set()).add(n))
            }
          return new Map(
            [...nsgs].flatMap(([l, ns]) =>
              ns.size === 1 ? [[l, [...ns][0] as AzureNsgPlan['nsgs'][number]]] : [],
            ),
          )
        }
        const sa = single(a)
        const sb = single(b)
        for (const [labels, n] of sa) {
          const m = sb.get(labels)
          if (!m) continue
          compared++
          expect(m.name, labels).toBe(n.name)
          expect(m.key, labels).toBe(n.key)
        }
      }),
      { seed: SEED, numRuns: 200, endOnFailure: true },
    )
    expect(compared).toBeGreaterThan(100)
  })
})

describe('azure-nsg NSG names', () => {
  it('plain labels read as they are; a split label set names its other parts after a workload', () => {
    expect(nsgReadableName(labelSet({ role: 'api', app: 'payments' }))).toBe(
      'bh-nsg.app.payments.role.api',
    )
    expect(nsgReadableName(labelSet({}))).toBe('bh-nsg.unlabelled')
    expect(nsgReadableName(labelSet({ role: 'web' }), 'web-3')).toBe('bh-nsg.role.web_web-3')
    expect(nsgReadableName(labelSet({ role: 'Web' }))).toBeUndefined()
    expect(nsgReadableName(labelSet({ 'app.kubernetes.io/name': 'x' }))).toBeUndefined()
    // the part with the fewest rules keeps the plain name, whatever its first workload
    const named = nsgNames([
      { labels: labelSet({ role: 'web' }), members: ['web-1'], rules: 3 },
      { labels: labelSet({ role: 'web' }), members: ['web-2'], rules: 2 },
      { labels: labelSet({ role: 'db' }), members: ['db-1'], rules: 2 },
    ])
    expect(named.map((n) => n.name)).toEqual([
      'bh-nsg.role.web_web-1',
      'bh-nsg.role.web',
      'bh-nsg.role.db',
    ])
    expect(named.map((n) => n.key)).toEqual([
      'bh-nsg_role_web_web-1',
      'bh-nsg_role_web',
      'bh-nsg_role_db',
    ])
  })

  it('label sets that would read alike get different names and keys, within 80 characters', () => {
    const sets = [
      { role: 'a-b' },
      { role: 'a_b' },
      { role: 'A-B' },
      { role: 'a b' },
      { 'role.a': 'b' },
      { role: 'a', b: 'c' },
      { role: 'x'.repeat(90) },
      { role: 'x'.repeat(90), env: 'y' },
      { role: `${'x'.repeat(90)}1` },
    ].map((m) => ({ labels: labelSet(m), members: ['w'], rules: 0 }))
    const named = nsgNames(sets)
    expect(new Set(named.map((n) => n.name.toLowerCase())).size).toBe(sets.length)
    expect(new Set(named.map((n) => n.key)).size).toBe(sets.length)
    for (const { name, key } of named) {
      expect(name.length).toBeLessThanOrEqual(80)
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]$/)
      expect(key).toMatch(/^[A-Za-z_][A-Za-z0-9_-]*$/)
    }
    // each name is its own: the same label set, alone, is named the same
    sets.forEach((s, i) => expect(nsgNames([s])[0]).toEqual(named[i]))
  })

  it('an ASG whose name passes 80 characters keeps it when another of the same first 80 comes', () => {
    const long = 'x'.repeat(90)
    const inventory = inventoryOf(
      workload('w-a', '10.9.0.1', { role: `${long}a` }),
      workload('w-b', '10.9.0.2', { role: `${long}b` }),
      workload('w-c', '10.9.0.3', { role: 'client' }),
    )
    const set = (...roles: string[]): PolicySet => ({
      policies: [
        policy(
          'p',
          {},
          roles.map((r, i) =>
            rule(`r${i}`, [lbl({ role: 'client' })], [lbl({ role: r })], [tcp(443)]),
          ),
        ),
      ],
      enforcement: [{ selector: { kind: 'any' }, mode: 'enforce' }],
    })
    const asgOf = (ps: PolicySet, role: string) =>
      planAzureNsg(inventory, ps, { now: NOW }).asgs.find((a) => a.members.includes(role))
    const before = asgOf(set(`${long}b`), 'w-b')
    const after = asgOf(set(`${long}a`, `${long}b`), 'w-b')
    expect(before?.name.length).toBeLessThanOrEqual(80)
    expect(after?.name).toBe(before?.name)
    expect(after?.key).toBe(before?.key)
    expect(asgOf(set(`${long}a`, `${long}b`), 'w-a')?.name).not.toBe(after?.name)
  })
})
