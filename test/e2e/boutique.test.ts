/**
 * @module Issue 8 item 5, second half: synthetic flows of the Online Boutique call graph (one
 * CSV flow per call, several per day, between addresses given to the corpus manifests' pods) →
 * ingest → recommend → compile `--target kubernetes`; `k8s connlist` of the manifests plus the
 * compiled NetworkPolicies allows exactly the call graph, and no more than the upstream
 * hand-written policies allow. Runs the CLI in process. Skipped when ../shared is absent.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { ServiceSet } from '../../src/core/index.js'
import { analyze, loadModel, readManifestFiles } from '../../src/kubernetes/index.js'
import { cli } from '../helpers/cli.js'
import { BOUTIQUE_CALLS } from '../helpers/boutique.js'
import { CORPUS_SKIP, corpusPath, corpusTitle } from '../helpers/corpora.js'

const BOUTIQUE = corpusPath('online-boutique')
const present = CORPUS_SKIP === undefined

/** The documented call graph (client → server : TCP port), with the load generator's calls. */
const CALLS: readonly (readonly [string, string, number])[] = [
  ['loadgenerator', 'frontend', 8080],
  ...BOUTIQUE_CALLS,
]
const DAY = 86_400_000
const START = Date.UTC(2026, 9, 1)
const DAYS = 14
const full = (app: string): string => `default/${app}[Deployment]`

describe.skipIf(!present)(
  corpusTitle('Online Boutique: recommend from the call graph, compiled to NetworkPolicy'),
  () => {
    const root = present ? mkdtempSync(path.join(tmpdir(), 'bulkhead-boutique-')) : ''
    afterAll(() => {
      if (root) rmSync(root, { recursive: true, force: true })
    })

    it('allows exactly the call graph, within what the upstream policies allow', async () => {
      const manifests = path.join(BOUTIQUE, 'kubernetes-manifests.yaml')
      const { model } = loadModel(readManifestFiles(manifests))
      // the pods of the manifests, with addresses, as the Kubernetes inventory source labels them
      const ip = new Map<string, string>()
      const workloads = model.workloads.map((w, i) => {
        ip.set(w.name, `10.244.0.${i + 10}`)
        return {
          name: w.name,
          addresses: [`10.244.0.${i + 10}`],
          labels: { ...w.pods[0]?.labels, namespace: w.namespace },
        }
      })
      for (const [s, d] of CALLS) {
        expect(ip.has(full(s)), s).toBe(true)
        expect(ip.has(full(d)), d).toBe(true)
      }
      const ws = path.join(root, 'ws')
      mkdirSync(path.join(ws, 'inventory'), { recursive: true })
      mkdirSync(path.join(ws, 'policy'), { recursive: true })
      writeFileSync(
        path.join(ws, 'inventory', 'pods.yaml'),
        stringify({ apiVersion: 'bulkhead.dev/v1', kind: 'Inventory', workloads }),
      )
      writeFileSync(
        path.join(ws, 'policy', 'enforcement.yaml'),
        stringify({
          apiVersion: 'bulkhead.dev/v1',
          kind: 'Enforcement',
          modes: [{ selector: 'any', mode: 'enforce' }],
        }),
      )
      // synthetic flows: every call four times a day for two weeks
      const lines = ['src_ip,dst_ip,dst_port,protocol,src_port,start,end,packets,bytes,action']
      let sport = 40000
      for (let day = 0; day < DAYS; day++)
        for (const hour of [3, 9, 15, 21])
          CALLS.forEach(([s, d, port], i) => {
            const at = START + day * DAY + hour * 3_600_000 + i * 60_000
            sport = sport >= 60000 ? 40000 : sport + 1
            lines.push(
              `${ip.get(full(s))},${ip.get(full(d))},${port},tcp,${sport},${new Date(at).toISOString()},${new Date(at + 5000).toISOString()},10,2000,accept`,
            )
          })
      const flows = path.join(root, 'flows.csv')
      writeFileSync(flows, `${lines.join('\n')}\n`)

      const ingest = await cli('ingest', '-w', ws, flows, '-o', 'json')
      expect(ingest.code, ingest.stderr).toBe(0)
      expect((JSON.parse(ingest.stdout) as { records: number }).records).toBe(lines.length - 1)
      const rec = await cli('recommend', '-w', ws, '--out', path.join(ws, 'policy'), '-o', 'json')
      expect(rec.code, rec.stderr).toBe(0)
      const compiled = path.join(root, 'compiled')
      const comp = await cli('compile', '--target', 'kubernetes', '--out', compiled, '-w', ws)
      expect(comp.code, comp.stderr).toBe(0)

      const ours = analyze([...readManifestFiles(manifests), ...readManifestFiles(compiled)])
      expect(ours.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
      const upstream = analyze(readManifestFiles(BOUTIQUE))
      expect(upstream.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])

      const key = (src: string, dst: string): string => `${src} => ${dst}`
      const got = new Map<string, ServiceSet>(
        ours.connections.map((c) => [key(c.src, c.dst), c.services]),
      )
      // every call of the graph is allowed on its port ...
      for (const [s, d, port] of CALLS)
        expect(got.get(key(full(s), full(d)))?.has(6, port), `${s} => ${d} tcp/${port}`).toBe(true)
      // ... and nothing else: no other pair, no other port, no address range
      for (const c of ours.connections) {
        const call = CALLS.filter(([s, d]) => key(full(s), full(d)) === key(c.src, c.dst))
        expect(call.length, `unexpected ${key(c.src, c.dst)}`).toBe(1)
        const port = (call[0] as [string, string, number])[2]
        expect(c.services.toString(), key(c.src, c.dst)).toBe(`tcp/${port}`)
      }
      expect(ours.connections).toHaveLength(CALLS.length)
      // the same as the upstream policies or fewer
      const up = new Map(upstream.connections.map((c) => [key(c.src, c.dst), c.services]))
      for (const c of ours.connections) {
        const u = up.get(key(c.src, c.dst))
        expect(u, key(c.src, c.dst)).toBeDefined()
        expect(c.services.subtract(u as ServiceSet).isEmpty, key(c.src, c.dst)).toBe(true)
      }
      expect(upstream.connections.length).toBeGreaterThan(ours.connections.length)
      // compiled objects are plain NetworkPolicies
      const text = readManifestFiles(compiled)
        .map((f) => readFileSync(path.resolve(f.path), 'utf8'))
        .join('\n')
      expect(text).toContain('kind: NetworkPolicy')
      expect(text).not.toContain('AdminNetworkPolicy')
    }, 180_000)
  },
)
