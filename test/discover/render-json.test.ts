/**
 * `discover -o json|yaml` lists at most `--max-sources` flow sources (default 1 000) and sums up
 * the rest in `sourcesNotListed`, so that a store of hundreds of thousands of files does not make
 * the sources outweigh the map (README "bulkhead discover").
 */
import { describe, expect, it } from 'vitest'
import { discoverOutput, MAX_SOURCES_LISTED, type DependencyMap } from '../../src/discover/index.js'

const T0 = Date.UTC(2026, 10, 1)

/** A map of no edges whose sources are `n` files of 2 flows each, one every hour; `untimed` of them have untimed flows only. */
function mapOf(n: number, untimed = 0): DependencyMap {
  return {
    window: { start: T0, end: T0 + n * 3_600_000 },
    entities: [],
    edges: [],
    sources: Array.from({ length: n }, (_, i) =>
      i >= n - untimed
        ? { format: 'zeek', file: `z${i}.log`, start: 0, end: 0, flows: 2, untimed: 2 }
        : {
            format: 'aws-vpc',
            file: `f${String(i).padStart(6, '0')}.log.gz`,
            start: T0 + i * 3_600_000,
            end: T0 + i * 3_600_000 + 60_000,
            flows: 2,
            untimed: 0,
          },
    ),
    diagnostics: [],
  }
}

describe('discover -o json: sources', () => {
  it('lists every source up to the limit, and no sourcesNotListed', () => {
    const out = discoverOutput(mapOf(MAX_SOURCES_LISTED))
    expect(out.sources).toHaveLength(MAX_SOURCES_LISTED)
    expect(out).not.toHaveProperty('sourcesNotListed')
  })

  it('lists the first 1 000 of 10 000 by format and file and sums up the other 9 000', () => {
    const out = discoverOutput(mapOf(10_000, 10))
    expect(out.sources).toHaveLength(1000)
    expect(out.sources[999]?.file).toBe('f000999.log.gz')
    // 8 990 timed files (1 000 … 9 989) and 10 of untimed flows only, 2 flows each
    expect(out.sourcesNotListed).toEqual({
      files: 9000,
      flows: 18_000,
      untimed: 20,
      // T0 + 1 000 h and T0 + 9 989 h + 1 min (416 days 5 hours), ISO without zero milliseconds
      start: '2026-12-12T16:00:00Z',
      end: '2027-12-22T05:01:00Z',
    })
    // the key follows sources in the document
    const keys = Object.keys(out)
    expect(keys.indexOf('sourcesNotListed')).toBe(keys.indexOf('sources') + 1)
  })

  it('maxSources 0 lists every one; sources of untimed flows only have no span', () => {
    expect(discoverOutput(mapOf(2500), { maxSources: 0 }).sources).toHaveLength(2500)
    expect(discoverOutput(mapOf(3, 2), { maxSources: 1 }).sourcesNotListed).toEqual({
      files: 2,
      flows: 4,
      untimed: 4,
      start: null,
      end: null,
    })
  })
})
