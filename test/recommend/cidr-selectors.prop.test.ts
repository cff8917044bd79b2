/**
 * `internetSelectors` and `blockSelector` (src/recommend/cidr.ts) against their plain definitions
 * (each block tested against every block kept before it; every managed block filtered per
 * block), which made `recommend` quadratic in the workloads' public addresses: random blocks of
 * both families, nested and repeated, fast-check with the suite's fixed seed.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  cidrCovers,
  NON_UNICAST_RANGES,
  parseCidr,
  PRIVATE_RANGES,
  type Cidr,
  type IpFamily,
} from '../../src/core/index.js'
import { blockSelector, internetSelectors, ManagedBlocks } from '../../src/recommend/cidr.js'
import { SEED } from '../helpers/model.js'

/** The definition: `except` of the `internet` selector of family `f`. */
function plainExcept(managed: readonly Cidr[], f: IpFamily): string[] {
  const out = PRIVATE_RANGES.filter((c) => c.family === f)
  for (const c of [...NON_UNICAST_RANGES, ...managed]) {
    if (c.family !== f || c.prefix === 0 || out.some((p) => cidrCovers(p, c))) continue
    out.push(c)
  }
  return out.map((c) => c.text)
}

/** The definition: the managed blocks strictly inside `block`, in their order. */
function plainInside(block: Cidr, managed: readonly Cidr[]): string[] {
  return managed.filter((c) => c.prefix > block.prefix && cidrCovers(block, c)).map((c) => c.text)
}

/** Blocks in a few small regions (public and private, both families), so that they nest. */
const blockArb: fc.Arbitrary<Cidr> = fc
  .oneof(
    fc
      .tuple(
        fc.constantFrom(10, 198, 203, 0),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 255 }),
      )
      .chain(([a, b, d]) =>
        fc
          .integer({ min: 0, max: 32 })
          .map((p) => `${String(a)}.${String(b)}.0.${String(d)}/${String(p)}`),
      ),
    fc
      .tuple(
        fc.constantFrom('2001:db8', '2600:1f18', 'fd00'),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 255 }),
      )
      .chain(([a, b, d]) =>
        fc
          .integer({ min: 0, max: 128 })
          .map((p) => `${a}:${String(b)}::${d.toString(16)}/${String(p)}`),
      ),
  )
  .map((t) => parseCidr(t, true) as Cidr)

describe('recommend CIDR selectors', () => {
  it('internet excepts and block excepts equal their plain definitions', () => {
    fc.assert(
      fc.property(fc.array(blockArb, { maxLength: 60 }), blockArb, (managed, block) => {
        const [v4, v6] = internetSelectors(managed)
        expect(v4?.kind === 'cidr' && v4.except.map((c) => c.text)).toEqual(plainExcept(managed, 4))
        expect(v6?.kind === 'cidr' && v6.except.map((c) => c.text)).toEqual(plainExcept(managed, 6))
        const index = new ManagedBlocks(managed)
        const want = plainInside(block, managed)
        expect(index.inside(block).map((c) => c.text)).toEqual(want)
        const sel = blockSelector(block, managed)
        expect(sel.kind === 'cidr' && sel.except.map((c) => c.text)).toEqual(want)
      }),
      { seed: SEED, numRuns: 600 },
    )
  })

  it('a block excepts the managed blocks at its first and last address, not those beside it', () => {
    const c = (t: string): Cidr => parseCidr(t, true) as Cidr
    const managed = [
      '10.1.1.0/32',
      '10.1.0.255/32',
      '10.0.255.255/32',
      '10.1.0.0/32',
      '10.1.0.0/24',
    ]
    expect(new ManagedBlocks(managed.map(c)).inside(c('10.1.0.0/24')).map((x) => x.text)).toEqual([
      '10.1.0.255/32',
      '10.1.0.0/32',
    ])
  })
})
