/**
 * @module `bulkhead compile --target iptables`: the three files per host and the JSON summary.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { cli } from '../helpers/cli.js'

const WS = fileURLToPath(new URL('../fixtures/compile-nftables/', import.meta.url))
const TMP = mkdtempSync(path.join(tmpdir(), 'bulkhead-compile-ipt-cli-'))
const NOW = '2026-11-22T12:00:00Z'

describe('bulkhead compile --target iptables', () => {
  afterAll(() => rmSync(TMP, { recursive: true, force: true }))

  it('writes <host>.ipset, <host>.rules.v4, <host>.rules.v6 and <host>.apply.sh per host', async () => {
    const out = path.join(TMP, 'all')
    const r = await cli('compile', '--target', 'iptables', '--out', out, '-w', WS, '--at', NOW)
    expect(r.code).toBe(0)
    expect(readdirSync(out).sort()).toEqual(
      ['dev-api-1', 'pay-api-1', 'pay-db-1', 'pay-web-1']
        .flatMap((h) => [`${h}.ipset`, `${h}.rules.v4`, `${h}.rules.v6`, `${h}.apply.sh`])
        .sort(),
    )
    expect(r.stdout).toContain('written for target iptables')
    const db = readFileSync(path.join(out, 'pay-db-1.rules.v4'), 'utf8')
    expect(db).toContain('# mode: enforce')
    // only Bulkhead's chains: the built-in ones are hooked by the apply script, not flushed
    expect(db).not.toMatch(/^:(INPUT|FORWARD|OUTPUT) /m)
    expect(db).toContain('-A BULKHEAD-IN -j DROP')
    const apply = readFileSync(path.join(out, 'pay-db-1.apply.sh'), 'utf8')
    expect(apply).toContain("iptables-restore -w --noflush 'pay-db-1.rules.v4'")
    expect(apply).toContain(
      'iptables -w -C INPUT -j BULKHEAD-IN 2>/dev/null || iptables -w -I INPUT 1 -j BULKHEAD-IN',
    )
  })

  it('--host, --direction egress, --monitor-timeout and -o json', async () => {
    const out = path.join(TMP, 'one')
    const r = await cli(
      'compile',
      '--target',
      'iptables',
      '--out',
      out,
      '--host',
      'pay-web-1',
      '--direction',
      'egress',
      '--monitor-timeout',
      '120',
      '-w',
      WS,
      '--at',
      NOW,
      '-o',
      'json',
    )
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as {
      target: string
      artefacts: { path: string; mode: string }[]
    }
    expect(doc.target).toBe('iptables')
    expect(doc.artefacts.map((a) => [a.path, a.mode])).toEqual([
      ['pay-web-1.ipset', 'monitor'],
      ['pay-web-1.rules.v4', 'monitor'],
      ['pay-web-1.rules.v6', 'monitor'],
      ['pay-web-1.apply.sh', 'monitor'],
    ])
    const ipset = readFileSync(path.join(out, 'pay-web-1.ipset'), 'utf8')
    expect(ipset).toContain('create bh-wbb-out-v4 hash:ip,port,ip family inet timeout 120')
    expect(ipset).not.toContain('bh-wbb-in-')
    // egress only: BULKHEAD-IN is declared (so emptied) but holds no rule
    expect(readFileSync(path.join(out, 'pay-web-1.rules.v4'), 'utf8')).not.toContain(
      '-A BULKHEAD-IN',
    )
  })
})
