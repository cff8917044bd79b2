import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cidrContains,
  formatIp,
  isPrivateIp,
  parseCidr,
  parseIp,
  type Cidr,
} from '../../src/core/index.js'
import { INTERNET, Resolver } from '../../src/inventory/index.js'
import { resolveEntity } from '../../src/policy/evaluate.js'
import { ALL_IPS, inventoryArb, SEED, TIMES } from '../helpers/model.js'

const DAY = 86_400_000
// flow times at, between and just around the address interval bounds
const AT = [TIMES[0]! - 1, ...TIMES, ...TIMES.map((t) => t - 1), TIMES[9]! + 5 * DAY]

describe('Resolver agrees with the reference resolveEntity', () => {
  it('for workloads and named externals, on every (ip, time)', () => {
    fc.assert(
      fc.property(inventoryArb, (inventory) => {
        const r = new Resolver(inventory)
        for (const ip of ALL_IPS) {
          for (const at of AT) {
            const want = resolveEntity(inventory, ip, at)
            const got = r.resolve(ip, at)
            if (want.kind === 'workload') {
              expect(got.kind).toBe('workload')
              expect(got.kind === 'workload' && got.workload).toBe(want.workload)
            } else if (want.named) {
              expect(got).toMatchObject({ kind: 'external', name: want.name, named: true })
            } else {
              // the reference leaves unmanaged addresses ungrouped; the resolver groups them
              expect(got.kind === 'external' && !got.named).toBe(true)
            }
          }
        }
      }),
      { seed: SEED, numRuns: 200 },
    )
  })
})

/**
 * Independent grouping: the address with its host bits cleared via parseCidr(…, allowHostBits);
 * a multicast group (first octet 224–239, first IPv6 byte ff), the limited broadcast and the
 * unspecified address by itself, by arithmetic on the value.
 */
function expectedGroup(ip: string, v4: number, v6: number, keep: boolean): string {
  const a = parseIp(ip)!
  const nonUnicast =
    a.value === 0n ||
    (a.family === 4
      ? a.value >> 28n === 0xen || a.value === 0xffffffffn
      : a.value >> 120n === 0xffn)
  if (nonUnicast) return formatIp(a)
  if (!isPrivateIp(a)) return keep ? formatIp(a) : INTERNET
  return (parseCidr(`${formatIp(a)}/${a.family === 4 ? v4 : v6}`, true) as Cidr).text
}

const v4Arb = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'))
// bias towards private ranges so both branches are exercised
const privateV4Arb = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([b, c, d]) => `10.${b}.${c}.${d}`),
  fc
    .tuple(fc.integer({ min: 16, max: 31 }), fc.nat(255), fc.nat(255))
    .map(([b, c, d]) => `172.${b}.${c}.${d}`),
  fc.tuple(fc.nat(255), fc.nat(255)).map(([c, d]) => `192.168.${c}.${d}`),
)
const v6Arb = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((p) => p.map((x) => x.toString(16)).join(':'))
const privateV6Arb = fc
  .array(fc.nat(0xffff), { minLength: 7, maxLength: 7 })
  .map((p) => ['fd12', ...p.map((x) => x.toString(16))].join(':'))

describe('Resolver groups unmanaged addresses', () => {
  it('private IPv4/IPv6 to their prefix, public ones to internet or themselves', () => {
    fc.assert(
      fc.property(
        fc.oneof(v4Arb, privateV4Arb, v6Arb, privateV6Arb),
        fc.integer({ min: 8, max: 32 }),
        fc.integer({ min: 16, max: 128 }),
        fc.boolean(),
        (ip, v4, v6, keep) => {
          const r = new Resolver(
            { workloads: [], externals: [], labelRules: [] },
            { privateGrouping: v4, privateGrouping6: v6, keepPublicIps: keep },
          )
          const e = r.resolve(ip, 0)
          expect(e).toEqual({
            kind: 'external',
            name: expectedGroup(ip, v4, v6, keep),
            named: false,
          })
          // the group contains the address
          if (e.kind === 'external' && e.name.includes('/')) {
            expect(cidrContains(parseCidr(e.name) as Cidr, parseIp(ip)!)).toBe(true)
          }
        },
      ),
      { seed: SEED, numRuns: 1000 },
    )
  })
})
