import { describe, expect, it } from 'vitest'
import {
  describeSpecialAddress,
  isNonUnicastBlock,
  parseCidr,
  specialAddressOf,
  type Cidr,
} from '../../src/core/index.js'

const use = (ip: string): string | undefined => specialAddressOf(ip)?.use

describe('specialAddress', () => {
  it('IPv4 multicast is exactly 224.0.0.0 – 239.255.255.255', () => {
    expect(specialAddressOf('223.255.255.255')).toBeUndefined()
    expect(specialAddressOf('224.0.0.0')?.kind).toBe('multicast')
    expect(specialAddressOf('239.255.255.255')?.kind).toBe('multicast')
    expect(specialAddressOf('240.0.0.0')).toBeUndefined()
  })

  it('IPv6 multicast is exactly ff00::/8', () => {
    expect(specialAddressOf('feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBeUndefined()
    expect(specialAddressOf('ff00::')?.kind).toBe('multicast')
    expect(specialAddressOf('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')?.kind).toBe('multicast')
  })

  it('names the well-known groups (IANA registries), in every spelling', () => {
    expect(use('224.0.0.251')).toBe('mDNS')
    expect(use('::ffff:224.0.0.251')).toBe('mDNS')
    expect(use('ff02::fb')).toBe('mDNS')
    expect(use('ff05::fb')).toBe('mDNS') // variable scope ff0X::fb
    expect(use('224.0.0.252')).toBe('LLMNR')
    expect(use('ff02::1:3')).toBe('LLMNR')
    expect(use('239.255.255.250')).toBe('SSDP')
    expect(use('FF02::C')).toBe('SSDP')
    expect(use('ff05::c')).toBe('SSDP')
    expect(use('224.0.0.22')).toBe('IGMPv3 reports')
    expect(use('ff02::1:2')).toBe('DHCPv6 relay agents and servers')
    // flags 1 (transient): not the IANA group
    expect(use('ff15::fb')).toBe('IPv6')
    expect(specialAddressOf('224.0.0.251')?.wellKnown).toBe(true)
    expect(specialAddressOf('ff15::fb')?.wellKnown).toBe(false)
    expect(use('224.0.0.99')).toBe('IPv4 local network control block')
    expect(use('239.1.2.3')).toBe('IPv4 administratively scoped')
    expect(use('233.252.0.1')).toBe('IPv4')
    expect(use('ff02::1:ff00:10')).toBe('IPv6 solicited-node')
  })

  it('the limited broadcast and the unspecified addresses; unicast is none', () => {
    expect(specialAddressOf('255.255.255.255')?.kind).toBe('broadcast')
    expect(specialAddressOf('255.255.255.254')).toBeUndefined()
    expect(specialAddressOf('0.0.0.0')?.kind).toBe('unspecified')
    expect(specialAddressOf('0.0.0.1')).toBeUndefined()
    expect(specialAddressOf('::')?.kind).toBe('unspecified')
    expect(specialAddressOf('10.1.2.255')).toBeUndefined()
    expect(specialAddressOf('not-an-ip')).toBeUndefined()
  })

  it('describes them for reasons', () => {
    const d = (ip: string) => describeSpecialAddress(specialAddressOf(ip)!)
    expect(d('224.0.0.251')).toBe('mDNS multicast group')
    expect(d('233.252.0.1')).toBe('IPv4 multicast group')
    expect(d('255.255.255.255')).toBe('IPv4 limited broadcast')
    expect(d('0.0.0.0')).toBe('unspecified address')
  })

  it('isNonUnicastBlock: a block wholly inside multicast or the broadcast', () => {
    const b = (t: string) => isNonUnicastBlock(parseCidr(t) as Cidr)
    expect(b('224.0.0.251/32')).toBe(true)
    expect(b('224.0.0.0/4')).toBe(true)
    expect(b('239.255.0.0/16')).toBe(true)
    expect(b('255.255.255.255/32')).toBe(true)
    expect(b('ff02::fb/128')).toBe(true)
    expect(b('ff00::/8')).toBe(true)
    expect(b('224.0.0.0/3')).toBe(false)
    expect(b('0.0.0.0/0')).toBe(false)
    expect(b('255.255.255.254/31')).toBe(false)
    expect(b('fe00::/7')).toBe(false)
  })
})
