import { describe, it, expect } from 'vitest'
import { parseCidr, type Cidr } from '../../src/core/index.js'
import {
  aggregateBlocks,
  blockSelector,
  groupPorts,
  internetSelectors,
  isEphemeralNoise,
  portsByEndpoints,
} from '../../src/recommend/index.js'
import { edge } from './helpers.js'

const c = (t: string): Cidr => parseCidr(t) as Cidr

describe('groupPorts', () => {
  it('merges a dense cluster of high ports into one range and keeps the rest single', () => {
    const rpc = Array.from({ length: 8 }, (_, i) => 49152 + i * 30)
    const g = groupPorts(6, [443, 22, ...rpc, 60000, 443])
    expect(g.map((x) => [x.lo, x.hi, x.range])).toEqual([
      [22, 22, false],
      [443, 443, false],
      [49152, 49362, true],
      [60000, 60000, false],
    ])
    expect(g[2]?.observed).toHaveLength(8)
  })
  it('needs minPorts ports and splits at gaps wider than maxGap', () => {
    expect(groupPorts(6, [5000, 5001, 5002]).every((x) => !x.range)).toBe(true)
    const g = groupPorts(6, [5000, 5001, 5002, 5100, 5101, 5102], { minPorts: 3, maxGap: 10 })
    expect(g.map((x) => `${x.lo}-${x.hi}`)).toEqual(['5000-5002', '5100-5102'])
  })
  it('never ranges low ports or protocols without ports', () => {
    expect(groupPorts(6, [1, 2, 3, 4, 5, 6, 7, 8, 9], { minPorts: 2 }).every((x) => !x.range)).toBe(
      true,
    )
    expect(groupPorts(1, [0, 3, 8, 11], { minPorts: 2 }).every((x) => !x.range)).toBe(true)
  })
})

describe('isEphemeralNoise', () => {
  const real = edge('api', 'db', 6, 5432)
  const reply = edge('db', 'api', 6, 51234, { flows: 3, unknownDirection: 3 })
  it('flags a direction-unknown edge to an ephemeral port whose reverse edge is a service port', () => {
    expect(isEphemeralNoise(reply, portsByEndpoints([real, reply]))).toBe(true)
  })
  it('keeps it when the direction was recorded, the port is low, or there is no reverse edge', () => {
    expect(
      isEphemeralNoise({ ...reply, unknownDirection: 0 }, portsByEndpoints([real, reply])),
    ).toBe(false)
    expect(isEphemeralNoise({ ...reply, dstPort: 8080 }, portsByEndpoints([real]))).toBe(false)
    expect(isEphemeralNoise(reply, portsByEndpoints([reply]))).toBe(false)
  })
  it('keeps it when some of its flows have a recorded direction (s13/hS D1: Zeek names the client)', () => {
    expect(isEphemeralNoise({ ...reply, flows: 4 }, portsByEndpoints([real, reply]))).toBe(false)
  })
})

describe('CIDR selectors', () => {
  it('aggregates per max-prefix block to the smallest covering prefix', () => {
    const m = aggregateBlocks(
      [
        c('10.0.0.1/32'),
        c('10.0.0.6/32'),
        c('10.0.1.0/24'),
        c('10.0.2.0/25'),
        c('10.0.2.128/25'),
        c('10.4.0.0/16'),
      ],
      24,
    )
    expect(Object.fromEntries([...m].map(([k, v]) => [k, v.text]))).toEqual({
      '10.0.0.1/32': '10.0.0.0/29',
      '10.0.0.6/32': '10.0.0.0/29',
      '10.0.1.0/24': '10.0.1.0/24',
      '10.0.2.0/25': '10.0.2.0/24',
      '10.0.2.128/25': '10.0.2.0/24',
      '10.4.0.0/16': '10.4.0.0/16',
    })
  })
  it('internet excludes private ranges and managed public blocks; a block excludes managed blocks inside it', () => {
    const [v4, v6] = internetSelectors([
      c('198.51.100.0/24'),
      c('10.1.0.5/32'),
      c('2001:db8::1/128'),
    ])
    expect(v4?.kind === 'cidr' && v4.except.map((x) => x.text)).toContain('198.51.100.0/24')
    expect(v4?.kind === 'cidr' && v4.except.map((x) => x.text)).not.toContain('10.1.0.5/32')
    expect(v6?.kind === 'cidr' && v6.except.map((x) => x.text)).toContain('2001:db8::1/128')
    const b = blockSelector(c('10.1.0.0/24'), [c('10.1.0.5/32'), c('10.2.0.5/32')])
    expect(b.kind === 'cidr' && b.except.map((x) => x.text)).toEqual(['10.1.0.5/32'])
  })
})
