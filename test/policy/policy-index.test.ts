/**
 * @module Unit tests for PolicyIndex on tricky cases, each also checked against the reference
 * evaluator: an address moving between workloads, an address in both a named external and a
 * policy CIDR, `except` blocks, `{}` selectors with scope, address spellings, updates.
 */
import { describe, expect, it } from 'vitest'
import {
  BulkheadError,
  entityName,
  labelSet,
  parseCidr,
  parseService,
  type Cidr,
  type FlowTuple,
  type Inventory,
  type Policy,
  type PolicySet,
  type Rule,
  type Selector,
  type Service,
} from '../../src/core/index.js'
import { evaluate } from '../../src/policy/evaluate.js'
import {
  buildTable,
  IntPairCache,
  PairCache,
  ServiceColumns,
  TableArena,
  tableLookup,
} from '../../src/policy/index-internals/tables.js'
import { PolicyIndex } from '../../src/policy/policy-index.js'
import { workload, inventoryOf } from '../helpers/workloads.js'

const T0 = Date.UTC(2026, 9, 1)
const DAY = 86_400_000

const cidr = (t: string): Cidr => parseCidr(t) as Cidr
const svc = (t: string): Service => parseService(t) as Service
const labels = (match: Record<string, string>, global = false): Selector => ({
  kind: 'labels',
  match: labelSet(match),
  expressions: [],
  global,
})
const block = (c: string, except: string[] = []): Selector => ({
  kind: 'cidr',
  cidr: cidr(c),
  except: except.map(cidr),
})
const rule = (
  id: string,
  from: Selector[],
  to: Selector[],
  ports: string[],
  action: 'allow' | 'deny' = 'allow',
  expires?: number,
): Rule => ({
  id,
  action,
  from,
  to,
  services: ports.map(svc),
  emergency: false,
  ...(expires === undefined ? {} : { expires }),
})
const policy = (name: string, rules: Rule[], scope: Record<string, string> = {}): Policy => ({
  name,
  owner: 't',
  scope: labelSet(scope),
  rules,
  file: `${name}.yaml`,
})
const tuple = (src: string, dst: string, service: string, at = T0): FlowTuple => {
  const s = svc(service)
  if (s.protocol === 'any') throw new Error('give a protocol')
  return { src, dst, protocol: s.protocol, dstPort: s.ports.lo, srcPort: 40000, at }
}

/** Evaluates with both the index and the reference; asserts they agree; returns a summary. */
function both(
  index: PolicyIndex,
  inv: Inventory,
  ps: PolicySet,
  t: FlowTuple,
  now = T0,
  reply = false,
): string {
  const want = evaluate(inv, ps, t, { now, reply })
  const got = index.evaluate(t, reply)
  expect(got.decision).toBe(want.decision)
  expect(got.by).toEqual(want.by)
  expect([got.srcMode, got.dstMode, got.mode, got.outcome]).toEqual([
    want.srcMode,
    want.dstMode,
    want.mode,
    want.outcome,
  ])
  expect([entityName(got.src), entityName(got.dst)]).toEqual([
    entityName(want.src),
    entityName(want.dst),
  ])
  const by =
    got.by === 'default-deny'
      ? 'default'
      : typeof got.by === 'string'
        ? got.by
        : `${got.by.rule.policy}/${got.by.rule.id}`
  return `${got.decision} ${by} ${entityName(got.src)}->${entityName(got.dst)}`
}

/** {@link both} on `tuple(src, dst, service, at)`, for one index, inventory and policy set. */
const judge =
  (index: PolicyIndex, inv: Inventory, ps: PolicySet) =>
  (src: string, dst: string, service: string, at = T0): string =>
    both(index, inv, ps, tuple(src, dst, service, at))

describe('PolicyIndex on tricky cases', () => {
  it('follows an address that moves between workloads over time', () => {
    const inv = inventoryOf(
      {
        name: 'ci-7',
        addresses: [{ ip: '10.30.0.7', from: T0, to: T0 + 2 * DAY }],
        labels: labelSet({ app: 'ci', env: 'dev' }),
      },
      {
        name: 'pay-batch',
        addresses: [{ ip: '10.30.0.7', from: T0 + 2 * DAY }],
        labels: labelSet({ app: 'pay', role: 'batch' }),
      },
      workload('pay-db', '10.20.0.5', { app: 'pay', role: 'db' }),
    )
    const ps: PolicySet = {
      policies: [
        policy(
          'pay',
          [rule('batch-db', [labels({ role: 'batch' })], [labels({ role: 'db' })], ['tcp/5432'])],
          { app: 'pay' },
        ),
      ],
      enforcement: [{ selector: labels({ app: 'pay' }), mode: 'enforce' }],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    const check = judge(index, inv, ps)
    expect(check('10.30.0.7', '10.20.0.5', 'tcp/5432', T0 + DAY)).toBe(
      'denied default ci-7->pay-db',
    )
    expect(check('10.30.0.7', '10.20.0.5', 'tcp/5432', T0 + 2 * DAY)).toBe(
      'allowed pay/batch-db pay-batch->pay-db',
    )
    // before anyone held it, the address is unmanaged
    expect(check('10.30.0.7', '10.20.0.5', 'tcp/5432', T0 - 1)).toBe(
      'denied default 10.30.0.7->pay-db',
    )
    expect(index.evaluate(tuple('10.30.0.7', '10.20.0.5', 'tcp/5432', T0 - 1)).srcMode).toBe(
      'observe',
    )
    expect(index.decide('10.30.0.7', '10.20.0.5', 6, 5432, T0 + DAY)).toBe(-1)
    expect(index.decide('10.30.0.7', '10.20.0.5', 6, 5432, T0 + 3 * DAY)).toBe(0) // allowed by rule 0
    // the reply of the allowed connection is judged as that connection
    expect(
      both(
        index,
        inv,
        ps,
        {
          src: '10.20.0.5',
          dst: '10.30.0.7',
          protocol: 6,
          dstPort: 40000,
          srcPort: 5432,
          at: T0 + 2 * DAY,
        },
        T0,
        true,
      ),
    ).toBe('allowed pay/batch-db pay-batch->pay-db')
  })

  it('resolves an address in a named external and in a policy CIDR by both facts', () => {
    const inv: Inventory = {
      workloads: [workload('sftp-gw', '10.0.0.9', { role: 'gw' })],
      externals: [
        { name: 'bank', cidr: cidr('198.51.100.0/24'), labels: labelSet({ role: 'partner' }) },
        { name: 'bank-dr', cidr: cidr('198.51.100.192/26'), labels: labelSet() },
      ],
      labelRules: [],
    }
    const ps: PolicySet = {
      policies: [
        policy('a-deny-low-half', [
          rule('low', [block('198.51.100.0/25')], [labels({ role: 'gw' })], ['tcp/22'], 'deny'),
        ]),
        policy('b-bank', [
          rule(
            'bank-in',
            [{ kind: 'external', name: 'bank' }],
            [labels({ role: 'gw' })],
            ['tcp/22'],
          ),
        ]),
      ],
      enforcement: [{ selector: { kind: 'any' }, mode: 'monitor' }],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    const check = judge(index, inv, ps)
    expect(check('198.51.100.7', '10.0.0.9', 'tcp/22')).toBe(
      'denied a-deny-low-half/low bank->sftp-gw',
    )
    expect(check('198.51.100.150', '10.0.0.9', 'tcp/22')).toBe(
      'allowed b-bank/bank-in bank->sftp-gw',
    )
    // the longer external wins, and the `external bank` selector does not match it
    expect(check('198.51.100.200', '10.0.0.9', 'tcp/22')).toBe('denied default bank-dr->sftp-gw')
    // externals have no enforcement point even under an `any` Enforcement entry
    expect(index.evaluate(tuple('198.51.100.150', '10.0.0.9', 'tcp/22')).srcMode).toBe('observe')
  })

  it('honours except blocks, for workloads and unmanaged addresses alike', () => {
    const inv = inventoryOf(
      workload('in-except', '10.1.0.5', { role: 'web' }),
      workload('outside-except', '10.2.0.5', { role: 'web' }),
      workload('db', ['10.9.0.1', '2001:db8::9'], { role: 'db' }),
    )
    const ps: PolicySet = {
      policies: [
        policy('p', [
          rule(
            'ten',
            [block('10.0.0.0/8', ['10.1.0.0/16', '10.1.0.0/24'])],
            [labels({ role: 'db' })],
            ['tcp/5432', 'tcp/6000-6010'],
          ),
        ]),
      ],
      enforcement: [],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    const check = judge(index, inv, ps)
    expect(check('10.1.0.5', '10.9.0.1', 'tcp/5432')).toBe('denied default in-except->db')
    expect(check('10.1.200.5', '10.9.0.1', 'tcp/5432')).toBe('denied default 10.1.200.5->db')
    expect(check('10.2.0.5', '10.9.0.1', 'tcp/5432')).toBe('allowed p/ten outside-except->db')
    expect(check('10.200.0.5', '10.9.0.1', 'tcp/6005')).toBe('allowed p/ten 10.200.0.5->db')
    expect(check('10.200.0.5', '10.9.0.1', 'tcp/6011')).toBe('denied default 10.200.0.5->db')
    expect(check('10.200.0.5', '2001:db8::9', 'tcp/5432')).toBe('allowed p/ten 10.200.0.5->db')
    expect(check('2001:db8::1', '10.9.0.1', 'tcp/5432')).toBe('denied default 2001:db8::1->db')
    const allowed = index.allowedServices('10.2.0.5', '10.9.0.1', T0)
    expect(allowed.toString()).toBe('tcp/5432,tcp/6000-6010')
    expect(index.allowedServices('10.1.0.5', '10.9.0.1', T0).isEmpty).toBe(true)
  })

  it('ANDs `{}` with the scope unless global', () => {
    const inv = inventoryOf(
      workload('pay-web', '10.0.0.1', { app: 'pay', role: 'web' }),
      workload('pay-db', '10.0.0.2', { app: 'pay', role: 'db' }),
      workload('shop-web', '10.0.0.3', { app: 'shop', role: 'web' }),
    )
    const ps: PolicySet = {
      policies: [
        policy(
          'pay',
          [
            rule('inside', [labels({})], [labels({})], ['tcp/443']),
            rule('anyone-in', [labels({}, true)], [labels({ role: 'db' })], ['tcp/5432']),
          ],
          { app: 'pay' },
        ),
      ],
      enforcement: [{ selector: labels({ app: 'pay' }), mode: 'enforce' }],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    const check = judge(index, inv, ps)
    expect(check('10.0.0.1', '10.0.0.2', 'tcp/443')).toBe('allowed pay/inside pay-web->pay-db')
    expect(check('10.0.0.3', '10.0.0.2', 'tcp/443')).toBe('denied default shop-web->pay-db')
    expect(index.evaluate(tuple('10.0.0.3', '10.0.0.2', 'tcp/443')).outcome).toBe('blocked')
    expect(check('10.0.0.3', '10.0.0.2', 'tcp/5432')).toBe('allowed pay/anyone-in shop-web->pay-db')
    // a global `{}` still only matches workloads, never unmanaged addresses
    expect(check('192.0.2.1', '10.0.0.2', 'tcp/5432')).toBe('denied default 192.0.2.1->pay-db')
    expect(check('10.0.0.2', '10.0.0.3', 'tcp/443')).toBe('denied default pay-db->shop-web')
  })

  it('resolves non-canonical spellings as the reference does, and rejects non-addresses', () => {
    const inv = inventoryOf(workload('v6', '2001:db8::1', { role: 'db' }))
    const ps: PolicySet = {
      policies: [policy('p', [rule('r', [block('::/0')], [block('2001:db8::/64')], ['tcp/443'])])],
      enforcement: [],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    const check = judge(index, inv, ps)
    // the reference matches workload addresses by exact text: upper case is an unmanaged address
    expect(check('2001:db8::2', '2001:DB8::1', 'tcp/443')).toBe(
      'allowed p/r 2001:db8::2->2001:DB8::1',
    )
    expect(check('2001:db8::2', '2001:db8::1', 'tcp/443')).toBe('allowed p/r 2001:db8::2->v6')
    expect(() => index.evaluate(tuple('not-an-ip', '2001:db8::1', 'tcp/443'))).toThrow(
      BulkheadError,
    )
    expect(() => index.decide('2001:db8::2', '10.0.0.300', 6, 443, T0)).toThrow(BulkheadError)
  })

  it('encodes decide() results and names rules with ruleAt; drops expired rules', () => {
    const inv = inventoryOf(
      workload('a', '10.0.0.1', { role: 'web' }),
      workload('b', '10.0.0.2', { role: 'db' }),
    )
    const ps: PolicySet = {
      policies: [
        policy('p', [
          rule('old', [labels({ role: 'web' })], [labels({ role: 'db' })], ['any'], 'allow', T0),
          rule(
            'web-db',
            [labels({ role: 'web' })],
            [labels({ role: 'db' })],
            ['tcp/5432', 'icmp/8'],
          ),
          rule(
            'no-ssh',
            [{ kind: 'any' }],
            [{ kind: 'workload', name: 'b', global: false }],
            ['tcp/22'],
            'deny',
          ),
        ]),
      ],
      enforcement: [],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    expect(index.expiredRules).toEqual([{ policy: 'p', id: 'old' }])
    expect(index.decide('10.0.0.1', '10.0.0.2', 6, 5432, T0)).toBe(2) // 2*1: allowed by rule 1
    expect(index.decide('10.0.0.1', '10.0.0.2', 1, 8, T0)).toBe(2)
    expect(index.decide('10.0.0.1', '10.0.0.2', 6, 22, T0)).toBe(5) // 2*2+1: denied by rule 2
    expect(index.decide('10.0.0.1', '10.0.0.2', 6, 443, T0)).toBe(-1)
    expect(index.ruleAt(2)).toEqual({ policy: 'p', id: 'no-ssh', action: 'deny' })
    expect(() => index.ruleAt(3)).toThrow(RangeError)
    // the expired `any` rule is absent: built one millisecond earlier it decides
    expect(PolicyIndex.build(inv, ps, T0 - 1).decide('10.0.0.1', '10.0.0.2', 6, 443, T0)).toBe(0)
    expect(index.stats()).toMatchObject({ rules: 2, classes: 2 })
  })

  it('updatePolicy re-decides cached pairs and keeps selectors still in use', () => {
    const inv = inventoryOf(
      workload('a', '10.0.0.1', { role: 'web' }),
      workload('b', '10.0.0.2', { role: 'db' }),
    )
    const allowWebDb = policy('p', [
      rule('web-db', [labels({ role: 'web' })], [labels({ role: 'db' })], ['tcp/5432']),
    ])
    let ps: PolicySet = { policies: [allowWebDb], enforcement: [] }
    const index = PolicyIndex.build(inv, ps, T0)
    const check = (src: string, dst: string, service: string): string =>
      both(index, inv, ps, tuple(src, dst, service))
    expect(check('10.0.0.1', '10.0.0.2', 'tcp/5432')).toBe('allowed p/web-db a->b')
    expect(index.stats()).toMatchObject({ selectors: 2, cachedPairs: 1 })
    const deny = policy('a-deny', [
      rule('stop', [labels({ role: 'web' })], [{ kind: 'any' }], ['tcp'], 'deny'),
    ])
    const epoch = index.partitionEpoch
    index.updatePolicy('a-deny', deny)
    ps = { ...ps, policies: [deny, allowWebDb] }
    // the old pair's table stays cached (keyed by rule lists, still valid); a new pair is added
    expect(index.stats()).toMatchObject({ selectors: 3, cachedPairs: 1 })
    expect(check('10.0.0.1', '10.0.0.2', 'tcp/5432')).toBe('denied a-deny/stop a->b')
    expect(index.stats()).toMatchObject({ cachedPairs: 2 })
    // the unchanged rule keeps its index; the new one, first in policy-set order, gets the next
    expect(index.ruleAt(0)).toEqual({ policy: 'p', id: 'web-db', action: 'allow' })
    expect(index.ruleAt(1)).toEqual({ policy: 'a-deny', id: 'stop', action: 'deny' })
    expect(index.partitionEpoch).toBe(epoch)
    index.updatePolicy('a-deny', undefined)
    ps = { ...ps, policies: [allowWebDb] }
    expect(check('10.0.0.1', '10.0.0.2', 'tcp/5432')).toBe('allowed p/web-db a->b')
    expect(index.stats().selectors).toBe(2)
    expect(index.hasRule(1)).toBe(false)
    expect(() => index.ruleAt(1)).toThrow(RangeError)
    expect(index.ruleCount).toBe(2)
    expect(index.partitionEpoch).toBe(epoch)
    // a new CIDR block changes the partition: classes and rule indices are rebuilt
    index.updatePolicy(
      'c',
      policy('c', [rule('net', [block('10.0.0.0/30')], [{ kind: 'any' }], ['tcp/22'])]),
    )
    expect(index.partitionEpoch).toBe(epoch + 1)
    expect(index.ruleCount).toBe(2)
    expect(index.ruleAt(1)).toEqual({ policy: 'p', id: 'web-db', action: 'allow' })
    expect(() => {
      index.updatePolicy('x', allowWebDb)
    }).toThrow(RangeError)
  })
})

describe('PolicyIndex.updatePolicy compaction', () => {
  it('renumbers rules when retired indices pile up, keeping class ids and decisions', () => {
    const inv = inventoryOf(
      workload('a', '10.0.0.1', { role: 'web' }),
      workload('b', '10.0.0.2', { role: 'db' }),
    )
    const version = (k: number): Policy =>
      policy('p', [
        rule('keep', [labels({ role: 'db' })], [labels({ role: 'web' })], ['tcp/80']),
        rule(
          `v${k}`,
          [labels({ role: 'web' })],
          [labels({ role: 'db' })],
          [`tcp/${1000 + (k % 50)}`],
        ),
      ])
    const index = PolicyIndex.build(inv, { policies: [version(0)], enforcement: [] }, T0)
    const a = index.endpointClass('10.0.0.1', T0)
    const b = index.endpointClass('10.0.0.2', T0)
    const epochs = [index.partitionEpoch, index.ruleEpoch]
    let compactions = 0
    for (let k = 1; k <= 5000; k++) {
      const before = index.ruleEpoch
      index.updatePolicy('p', version(k))
      if (index.ruleEpoch !== before) {
        compactions++
        // after a compaction the rules are numbered from 0 in policy-set order again
        expect(index.ruleCount).toBe(2)
        expect(index.ruleAt(1).id).toBe(`v${k}`)
      }
      if (k % 997 === 0 || index.ruleEpoch !== before) {
        const ps: PolicySet = { policies: [version(k)], enforcement: [] }
        for (const port of [80, 1000 + (k % 50), 1000 + ((k + 1) % 50)]) {
          const t = tuple('10.0.0.1', '10.0.0.2', `tcp/${port}`)
          const v = evaluate(inv, ps, t, { now: T0 })
          const code = index.decideClasses(a, b, 6, port)
          expect(code < 0 ? 'default-deny' : index.ruleAt(code >> 1).id).toBe(
            typeof v.by === 'string' ? v.by : v.by.rule.id,
          )
        }
      }
    }
    expect(compactions).toBe(1)
    expect(index.partitionEpoch).toBe(epochs[0])
    expect(index.ruleEpoch).toBe((epochs[1] as number) + 1)
    expect(index.endpointClass('10.0.0.1', T0)).toBe(a)
  })
})

describe('PolicyIndex internals', () => {
  it('PairCache keeps every entry across growth, for small and large keys', () => {
    const cache = new PairCache()
    const keys = Array.from({ length: 5000 }, (_, i) =>
      i % 2 === 0 ? i * 32768 + 7 : 1073741824 + i * 4194304 + 3,
    )
    keys.forEach((k, i) => {
      cache.set(k, i)
    })
    expect(cache.size).toBe(5000)
    expect(keys.every((k, i) => cache.get(k) === i)).toBe(true)
    expect(cache.get(12345)).toBe(-1)
    cache.clear()
    expect(cache.get(keys[0] as number)).toBe(-1)
  })

  it('TableArena interns tables by key and keeps offsets valid when it grows', () => {
    const arena = new TableArena()
    const rules = [
      { action: 'allow' as const, anyService: false, svc: [{ proto: 6, lo: 80, hi: 90 }] },
      { action: 'deny' as const, anyService: false, svc: [{ proto: 6, lo: 85, hi: 85 }] },
    ]
    const offsets = Array.from({ length: 400 }, (_, i) =>
      arena.intern(`k${i}`, () => buildTable(rules, Int32Array.of(0, 1))),
    )
    expect(arena.size).toBe(400)
    expect(arena.intern('k3', () => Int32Array.of())).toBe(offsets[3])
    for (const base of offsets) {
      expect([79, 80, 84, 85, 86, 90, 91].map((p) => tableLookup(arena.data, base, 6, p))).toEqual([
        -1, 0, 0, 3, 0, 0, -1,
      ])
      expect(tableLookup(arena.data, base, 17, 80)).toBe(-1)
    }
  })

  it('IntPairCache keeps every entry across growth and clear', () => {
    const cache = new IntPairCache(4)
    const keys = Array.from({ length: 20000 }, (_, i) => ((i * 7919) % 32768) * 32768 + (i % 97))
    const distinct = [...new Set(keys)]
    distinct.forEach((k, i) => {
      cache.set(k, i)
    })
    expect(cache.size).toBe(distinct.length)
    expect(distinct.every((k, i) => cache.get(k) === i)).toBe(true)
    expect(cache.get(2147483646)).toBe(-1)
    cache.set(distinct[0] as number, 99)
    expect(cache.get(distinct[0] as number)).toBe(99)
    expect(cache.size).toBe(distinct.length)
    cache.clear()
    expect(cache.get(distinct[1] as number)).toBe(-1)
  })

  it('ServiceColumns maps (protocol, port) to elementary intervals and unfolds tables into rows', () => {
    const breaks = new Map([
      [6, new Set([80, 91, 85, 86])],
      [1, new Set([8, 9, 300])],
    ])
    const cols = new ServiceColumns(breaks, (p) => (p === 1 ? 255 : 65535))
    // column 0: unlisted protocols; ICMP: [0,8) [8,9) [9,255]; TCP: [0,80) [80,85) [85,86) [86,91) [91,65535]
    expect(cols.count).toBe(1 + 3 + 5)
    const col = (p: number, port: number): number =>
      cols.portCol[(cols.protoOff[p] as number) + port] as number
    expect([0, 7, 8, 9, 255].map((t) => col(1, t))).toEqual([1, 1, 2, 3, 3])
    expect([0, 79, 80, 84, 85, 86, 90, 91, 65535].map((p) => col(6, p))).toEqual([
      4, 4, 5, 5, 6, 7, 7, 8, 8,
    ])
    expect(cols.protoOff[17]).toBe(-1)
    expect(cols.protoMax[1]).toBe(255)
    const rules = [
      { action: 'allow' as const, anyService: false, svc: [{ proto: 6, lo: 80, hi: 90 }] },
      { action: 'deny' as const, anyService: false, svc: [{ proto: 6, lo: 85, hi: 85 }] },
      { action: 'allow' as const, anyService: true, svc: [] },
    ]
    const table = buildTable(rules, Int32Array.of(0, 1, 2))
    expect([...cols.row(table, 0)]).toEqual([4, 4, 4, 4, 4, 0, 3, 0, 4])
  })

  it('judges an ICMP echo reply as the echo request it answers (rule 3), IPv4 and IPv6', () => {
    const inv = inventoryOf(
      workload('mon', ['10.0.0.1', '2001:db8::1'], { role: 'mon' }),
      workload('web', ['10.0.0.2', '2001:db8::2'], { role: 'web' }),
    )
    const ps: PolicySet = {
      policies: [
        policy('p', [
          rule(
            'ping',
            [labels({ role: 'mon' })],
            [labels({ role: 'web' })],
            ['icmp/8', 'icmpv6/128'],
          ),
        ]),
      ],
      enforcement: [],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    // web's echo reply (type 0, code 0) to mon; ICMPv6 129
    const reply = (src: string, dst: string, protocol: number, type: number): FlowTuple => ({
      src,
      dst,
      protocol,
      dstPort: type,
      srcPort: 0,
      at: T0,
    })
    expect(both(index, inv, ps, reply('10.0.0.2', '10.0.0.1', 1, 0), T0, true)).toBe(
      'allowed p/ping mon->web',
    )
    expect(both(index, inv, ps, reply('2001:db8::2', '2001:db8::1', 58, 129), T0, true)).toBe(
      'allowed p/ping mon->web',
    )
    // a type answering no request (router advertisement, 9) is judged as recorded
    expect(both(index, inv, ps, reply('10.0.0.2', '10.0.0.1', 1, 9), T0, true)).toBe(
      'denied default mon->web',
    )
    // an ICMP error (destination unreachable, 3) is part of the connection it reports on
    expect(both(index, inv, ps, reply('10.0.0.2', '10.0.0.1', 1, 3), T0, true)).toBe(
      'allowed related mon->web',
    )
  })

  it('decides protocols and ports outside the columns as the reference does', () => {
    const inv = inventoryOf(
      workload('a', '10.0.0.1', { role: 'web' }),
      workload('b', '10.0.0.2', { role: 'db' }),
    )
    const ps: PolicySet = {
      policies: [
        policy('p', [
          rule('icmp', [labels({ role: 'web' })], [labels({ role: 'db' })], ['icmp/8']),
          rule('all', [labels({ role: 'web' })], [labels({ role: 'db' })], ['any'], 'deny'),
        ]),
      ],
      enforcement: [],
    }
    const index = PolicyIndex.build(inv, ps, T0)
    for (const [protocol, dstPort] of [
      [1, 8],
      [1, 300],
      [6, 70000],
      [300, 1],
      [47, 0],
      [6, -1],
    ] as const) {
      const t = { src: '10.0.0.1', dst: '10.0.0.2', protocol, dstPort, at: T0 }
      const v = evaluate(inv, ps, t, { now: T0 })
      const code = index.decide(t.src, t.dst, protocol, dstPort, T0)
      expect([protocol, dstPort, code < 0 ? 'default-deny' : index.ruleAt(code >> 1).id]).toEqual([
        protocol,
        dstPort,
        typeof v.by === 'string' ? v.by : v.by.rule.id,
      ])
    }
  })
})
