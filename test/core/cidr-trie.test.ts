import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cidrContains,
  CidrTrie,
  formatIp,
  parseCidr,
  type Cidr,
  type IpAddress,
} from '../../src/core/index.js'
import { SEED } from '../helpers/model.js'

const v4 = fc
  .tuple(fc.constantFrom(10, 192), fc.nat(3), fc.nat(255), fc.nat(255))
  .map(([a, b, c, d]) => ({
    family: 4 as const,
    value: BigInt(((a << 24) >>> 0) + (b << 16) + (c << 8) + d),
  }))
const v6 = fc.tuple(fc.nat(3), fc.bigInt({ min: 0n, max: (1n << 20n) - 1n })).map(([hi, lo]) => ({
  family: 6 as const,
  value: (0x20010db8n << 96n) | (BigInt(hi) << 64n) | lo,
}))
const ipArb: fc.Arbitrary<IpAddress> = fc.oneof(v4, v6)
const cidrArb: fc.Arbitrary<Cidr> = fc.tuple(ipArb, fc.nat(128)).map(([ip, p]) => {
  const prefix = ip.family === 4 ? p % 33 : p
  return parseCidr(`${formatIp(ip)}/${prefix}`, true) as Cidr
})

describe('CidrTrie', () => {
  it('longest-prefix lookup equals a linear scan', () => {
    fc.assert(
      fc.property(
        fc.array(cidrArb, { maxLength: 40 }),
        fc.array(ipArb, { minLength: 1, maxLength: 20 }),
        (cidrs, ips) => {
          const trie = new CidrTrie<string>()
          const last = new Map<string, string>()
          cidrs.forEach((c, i) => {
            trie.set(c, `v${i}`)
            last.set(c.text, `v${i}`)
          })
          expect(trie.size).toBe(last.size)
          for (const ip of ips) {
            const containing = [...last.keys()]
              .map((t) => parseCidr(t) as Cidr)
              .filter((c) => cidrContains(c, ip))
            const best = containing.sort((a, b) => b.prefix - a.prefix)[0]
            const got = trie.lookup(ip)
            expect(got?.cidr.text).toBe(best?.text)
            if (best) expect(got?.value).toBe(last.get(best.text))
            expect(trie.lookupAll(ip).map((e) => e.cidr.prefix)).toEqual(
              containing.map((c) => c.prefix).sort((a, b) => a - b),
            )
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('a /0 matches every address of its family only', () => {
    const t = new CidrTrie<number>()
    t.set(parseCidr('0.0.0.0/0') as Cidr, 1)
    expect(t.lookup({ family: 4, value: 0xffffffffn })?.value).toBe(1)
    expect(t.lookup({ family: 6, value: 1n })).toBeUndefined()
  })
})
