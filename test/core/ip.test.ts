import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  formatIp,
  cidrContains,
  cidrCovers,
  isPrivateIp,
  normalizeIp,
  parseCidr,
  parseIp,
  type Cidr,
} from '../../src/core/index.js'
import { SEED } from '../helpers/model.js'

describe('addresses', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    // IPv4-compatible (RFC 4291 §2.5.5.1) is IPv6, the same address as its hex spelling
    ['::10.0.1.10', '::a00:10a'],
    ['::a00:10a', '::a00:10a'],
    ['::FFFF:10.0.1.10', '10.0.1.10'],
  ])('normalises %s', (a, b) => expect(normalizeIp(a)).toBe(b))

  it('normalize_ip_gives_what_parsing_and_formatting_give_for_dotted_quads_written_any_way', () => {
    // octets with leading zeros, above 255, signs and spaces around them, so that the canonical
    // dotted quads normalizeIp returns as written are tested against the parsing path
    const octet = fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 255 }).map(String), weight: 12 },
      {
        arbitrary: fc.integer({ min: 0, max: 999 }).map((n) => String(n).padStart(3, '0')),
        weight: 1,
      },
      {
        arbitrary: fc.constantFrom(
          '256',
          '300',
          '-1',
          '+1',
          ' 1',
          '1 ',
          '',
          '00',
          '0x1',
          '1e2',
          '٣',
        ),
        weight: 1,
      },
    )
    const end = fc.oneof(
      { arbitrary: fc.constant(''), weight: 4 },
      { arbitrary: fc.constantFrom(' ', '.', '\n'), weight: 1 },
    )
    const quad = fc
      .tuple(octet, octet, octet, octet, end)
      .map(([a, b, c, d, end]) => `${a}.${b}.${c}.${d}${end}`)
    let canonical = 0
    fc.assert(
      fc.property(quad, (text) => {
        const ip = parseIp(text)
        const expected = ip === undefined ? undefined : formatIp(ip)
        if (expected === text) canonical++
        expect(normalizeIp(text)).toBe(expected)
      }),
      { seed: SEED, numRuns: 5_000 },
    )
    // both paths were exercised
    expect(canonical).toBeGreaterThan(1_000)
    expect(canonical).toBeLessThan(4_500)
  })

  it.each([
    '10.0.0',
    '10.0.0.256',
    '0x0a.0.0.1',
    '10',
    'abc',
    '',
    '2001:db8::1::2',
    '1.2.3.4 5',
    // a dotted quad inside IPv6 is held to the rules of one alone: no leading zeros
    '010.0.0.1',
    '::ffff:010.0.0.1',
    '::ffff:10.00.0.1',
    '::010.0.0.1',
    '64:ff9b::010.0.0.1',
  ])('rejects %s', (a) => {
    expect(parseIp(a)).toBeUndefined()
  })
})

describe('CIDR blocks', () => {
  const c = (t: string): Cidr => parseCidr(t) as Cidr
  it('contains its first and last address and nothing beyond', () => {
    const b = c('10.1.0.0/16')
    expect(cidrContains(b, parseIp('10.1.0.0')!)).toBe(true)
    expect(cidrContains(b, parseIp('10.1.255.255')!)).toBe(true)
    expect(cidrContains(b, parseIp('10.2.0.0')!)).toBe(false)
    expect(cidrContains(b, parseIp('10.0.255.255')!)).toBe(false)
  })
  it('never matches across families', () => {
    expect(cidrContains(c('0.0.0.0/0'), parseIp('::1')!)).toBe(false)
    expect(cidrContains(c('::/0'), parseIp('10.0.0.1')!)).toBe(false)
  })
  it('IPv6 prefixes are exact', () => {
    const b = c('2001:db8::/127')
    expect(cidrContains(b, parseIp('2001:db8::1')!)).toBe(true)
    expect(cidrContains(b, parseIp('2001:db8::2')!)).toBe(false)
  })
  it('rejects host bits, bad prefixes and non-addresses with a reason', () => {
    expect(parseCidr('10.0.0.1/8')).toMatch(/host bits/)
    expect(parseCidr('10.0.0.0/33')).toMatch(/prefix/)
    expect(parseCidr('2001:db8::/129')).toMatch(/prefix/)
    expect(typeof parseCidr('nope/8')).toBe('string')
    expect((parseCidr('10.0.0.1/8', true) as Cidr).text).toBe('10.0.0.0/8')
  })
  it('an IPv4-mapped block counts its prefix in IPv6 bits (RFC 4291 2.5.5.2) and is the IPv4 block', () => {
    expect(c('::ffff:10.90.0.0/120')).toEqual(c('10.90.0.0/24'))
    expect(c('::ffff:10.90.0.7/128')).toEqual(c('10.90.0.7/32'))
    expect(c('::ffff:0.0.0.0/96')).toEqual(c('0.0.0.0/0'))
    expect(c('::ffff:10.90.0.7')).toEqual(c('10.90.0.7/32'))
    // an IPv6 prefix shorter than 96 reaches beyond the mapped addresses: not read as IPv4 bits
    expect(parseCidr('::ffff:10.90.0.0/24')).toMatch(/IPv4-mapped.*96–128/)
    expect(parseCidr('::ffff:10.90.0.1/120')).toMatch(/host bits/)
  })
  it('a bare address is a host prefix', () => {
    expect((parseCidr('10.0.0.1') as Cidr).prefix).toBe(32)
    expect((parseCidr('2001:db8::1') as Cidr).prefix).toBe(128)
  })
  it('covers', () => {
    expect(cidrCovers(c('10.0.0.0/8'), c('10.1.0.0/16'))).toBe(true)
    expect(cidrCovers(c('10.1.0.0/16'), c('10.0.0.0/8'))).toBe(false)
  })
  it('private ranges', () => {
    expect(isPrivateIp(parseIp('10.1.2.3')!)).toBe(true)
    expect(isPrivateIp(parseIp('172.31.0.1')!)).toBe(true)
    expect(isPrivateIp(parseIp('172.32.0.1')!)).toBe(false)
    expect(isPrivateIp(parseIp('fd00::1')!)).toBe(true)
    expect(isPrivateIp(parseIp('8.8.8.8')!)).toBe(false)
  })
})
