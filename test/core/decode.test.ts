/**
 * Files written as UTF-16 with a byte-order mark (Windows PowerShell 5.1 redirection:
 * `kubectl get pods -o json > pods.json`) read as their text (src/core/decode.ts), through the
 * workspace loader too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeText } from '../../src/core/index.js'
import { loadWorkspace } from '../../src/policy/files.js'

const utf16le = (text: string) =>
  Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
const utf16be = (text: string) => {
  const le = Buffer.from(text, 'utf16le')
  for (let i = 0; i + 1 < le.length; i += 2)
    [le[i], le[i + 1]] = [le[i + 1] as number, le[i] as number]
  return Buffer.concat([Buffer.from([0xfe, 0xff]), le])
}

describe('decodeText', () => {
  it('reads UTF-16LE and UTF-16BE after their byte-order marks, else UTF-8', () => {
    expect(decodeText(utf16le('name,addresses\r\nwéb,10.0.0.1\r\n'))).toBe(
      'name,addresses\r\nwéb,10.0.0.1\r\n',
    )
    expect(decodeText(utf16be('a: ü\n'))).toBe('a: ü\n')
    expect(decodeText(Buffer.from('\uFEFFa: 1\n', 'utf8'))).toBe('\uFEFFa: 1\n')
    expect(decodeText(Buffer.from('plain', 'utf8'))).toBe('plain')
  })
})

describe('workspace files in UTF-16', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-utf16-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))

  it('a kubectl JSON dump and a CSV saved as UTF-16LE load as if UTF-8', async () => {
    // before: "a document must be a mapping with apiVersion and kind" at 1:1, and unknown
    // columns full of NULs
    mkdirSync(path.join(root, 'inventory'))
    const pods = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'queue', namespace: 'default', labels: { app: 'work-queue' } },
          status: { phase: 'Running', podIP: '172.17.0.6' },
        },
      ],
    }
    writeFileSync(path.join(root, 'inventory', 'pods.json'), utf16le(JSON.stringify(pods, null, 4)))
    writeFileSync(
      path.join(root, 'inventory', 'hosts.csv'),
      utf16le('name,addresses,labels\r\nbastion,10.0.0.9,role=bastion\r\n'),
    )
    const r = await loadWorkspace(root, new Date('2026-11-01T00:00:00Z'))
    expect(r.diagnostics).toEqual([])
    expect(r.inventory.workloads.map((w) => [w.name, w.addresses.map((a) => a.ip)])).toEqual([
      ['bastion', ['10.0.0.9']],
      ['default/queue[Pod]', ['172.17.0.6']],
    ])
  })
})
