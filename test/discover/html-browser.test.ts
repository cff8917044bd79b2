import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { cytoscapeSource } from '../../src/cli/commands/discover.js'
import {
  classifyPattern,
  emptyProfile,
  groupBy,
  renderHtml,
  renderHtmlPieces,
} from '../../src/discover/index.js'
import type { DependencyMap, Edge, MapEntity } from '../../src/discover/index.js'

const CHROMIUM = '/usr/bin/chromium'
const REQUIRED = process.env['BULKHEAD_REQUIRE_BROWSER'] === '1'
const HAVE = existsSync(CHROMIUM)
const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-html-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const T = Date.UTC(2026, 9, 5, 10)

function entity(
  id: string,
  labels: Record<string, string>,
  kind: MapEntity['kind'] = 'workload',
): MapEntity {
  return { id, kind, name: id, labels }
}

function edge(src: string, dst: string, port: number, flows: number): Edge {
  const profile = emptyProfile()
  profile.hourOfWeek[10] = flows
  profile.dayOfMonth[4] = flows
  return {
    src,
    dst,
    protocol: 6,
    dstPort: port,
    flows,
    packets: flows * 4,
    bytes: flows * 900,
    firstSeen: T,
    lastSeen: T + 60_000,
    activeDays: 1,
    days: [Math.floor(T / 86_400_000)],
    profile,
    pattern: classifyPattern(profile, 1, 30),
    unknownDirection: 0,
    rejected: 0,
  }
}

/** A small map with a hostile name (markup in it) to prove the data cannot break the page. */
const MAP: DependencyMap = {
  window: { start: T, end: T + 30 * 86_400_000 },
  entities: [
    entity('web-1', { app: 'shop', role: 'web' }),
    entity('web-2', { app: 'shop', role: 'web' }),
    entity('api-1', { app: 'shop', role: 'api' }),
    entity('db-</script><b>x', { app: 'shop', role: 'db' }),
    entity('lonely', {}),
    entity('bank-sftp', { role: 'partner' }, 'external'),
    entity('internet', {}, 'unmanaged'),
  ],
  edges: [
    edge('web-1', 'api-1', 8080, 500),
    edge('web-2', 'api-1', 8080, 400),
    edge('api-1', 'db-</script><b>x', 5432, 300),
    edge('api-1', 'bank-sftp', 22, 2),
    edge('api-1', 'internet', 443, 1),
  ],
  sources: [],
  diagnostics: [{ code: 'discover/short-window', severity: 'warning', message: 'short <window>' }],
}

/** `n` workloads in 8 apps × 3 roles and `m` distinct edges, deterministic. */
function bigMap(n: number, m: number): DependencyMap {
  const entities = Array.from({ length: n }, (_, i) =>
    entity(`w-${i}`, { app: `app-${i % 8}`, role: ['web', 'api', 'db'][i % 3]! }),
  )
  const edges: Edge[] = []
  const seen = new Set<string>()
  for (let k = 0; edges.length < m; k++) {
    if (k > 100 * m) throw new Error('bigMap: not enough distinct edges')
    const a = k % n
    const b = (a + 1 + ((Math.floor(k / n) * 7) % (n - 1))) % n
    const port = 8000 + (Math.floor(k / n) % 5)
    const key = `${a}-${b}-${port}`
    if (a === b || seen.has(key)) continue
    seen.add(key)
    edges.push(edge(`w-${a}`, `w-${b}`, port, 1 + ((k * 37) % 900)))
  }
  return { ...MAP, entities, edges: edges.sort((x, y) => y.flows - x.flows) }
}

describe('renderHtmlPieces', () => {
  it('writes each node and edge as a piece of its own, whose data reads back whole', () => {
    const js = '/* cytoscape */'
    const pieces = (m: number) => [...renderHtmlPieces(bigMap(60, m), js)]
    const small = pieces(100)
    const large = pieces(3000)
    const longest = (ps: string[]) => Math.max(...ps.slice(1, -1).map((p) => p.length))
    // the same up to the digits of the edge ids and flow counts
    expect(longest(large)).toBeLessThan(longest(small) + 8)
    expect(large.length - small.length).toBe(2900)
    const page = large.join('')
    expect(page).toBe(renderHtml(bigMap(60, 3000), js))
    const data = JSON.parse(/window\.bulkheadData = (.*);<\/script>/.exec(page)![1]!) as {
      nodes: unknown[]
      edges: { data: { source: string } }[]
    }
    expect(data.edges).toHaveLength(3000)
    expect(data.nodes.filter((n) => JSON.stringify(n).includes('"entity"'))).toHaveLength(60)
    // the hostile name stays inside the data: no `</script>` of its own
    const hostile = [...renderHtmlPieces(MAP, js)].join('')
    expect(hostile.match(/<\/script>/g)).toHaveLength(3)
    expect(JSON.parse(/window\.bulkheadData = (.*);<\/script>/.exec(hostile)![1]!)).toMatchObject({
      warnings: ['short <window>'],
    })
  })
})

describe.skipIf(!HAVE && !REQUIRED)(
  `discover -o html in headless Chromium (needs ${CHROMIUM})`,
  () => {
    it('renders_every_entity_and_edge_and_filters_and_shows_evidence', () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is required (BULKHEAD_REQUIRE_BROWSER=1)`).toBe(
        true,
      )
      const file = path.join(dir, 'map.html')
      writeFileSync(file, renderHtml(MAP, cytoscapeSource()))
      const grouped = path.join(dir, 'grouped.html')
      const g = groupBy(MAP, ['app', 'role'])
      writeFileSync(grouped, renderHtml(g, cytoscapeSource()))
      // an estate of 40 workloads in 8 apps, 120 edges
      const bigFile = path.join(dir, 'big.html')
      writeFileSync(bigFile, renderHtml(bigMap(40, 120), cytoscapeSource()))
      // 250 entities and 5000 edges: crowded enough that pushing one pair apart makes others overlap
      const denseFile = path.join(dir, 'dense.html')
      writeFileSync(denseFile, renderHtml(bigMap(250, 5000), cytoscapeSource()))
      // a name of 340 characters and one with a line break
      const longFile = path.join(dir, 'long.html')
      const long = 'very-long-workload-name-'.repeat(14) + 'end'
      writeFileSync(
        longFile,
        renderHtml(
          {
            ...MAP,
            entities: [entity(long, { app: 'shop', role: 'web' }), entity('line1\nline2', {})],
            edges: [edge(long, 'line1\nline2', 443, 10)],
          },
          cytoscapeSource(),
        ),
      )
      // the browser runs in a child process with a hard limit: a stuck browser fails, never hangs
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(new URL('./browser-check.ts', import.meta.url)),
          CHROMIUM,
          file,
          grouped,
          bigFile,
          longFile,
          denseFile,
        ],
        {
          encoding: 'utf8',
          timeout: 90_000,
          cwd: fileURLToPath(new URL('../..', import.meta.url)),
        },
      )
      expect(run.error, run.stderr).toBeUndefined()
      expect(run.status, run.stderr).toBe(0)
      const out = JSON.parse(run.stdout) as {
        map: { width500: number } & Record<string, unknown>
        big: { ms: number } & Record<string, unknown>
      } & Record<string, unknown>
      expect(out['map']).toEqual({
        entities: 7,
        groups: ['app:shop', 'role:shop/api', 'role:shop/db', 'role:shop/web'],
        edges: 5,
        parentOfWeb: 'role:shop/web',
        width500: expect.any(Number),
        width1: 1,
        positioned: true,
        bodyEntities: '7',
        bodyEdges: '5',
      })
      expect(out.map.width500).toBeGreaterThan(1)
      // no entity is drawn over another (cose alone leaves some overlapping, differently each run)
      expect(out['overlaps']).toEqual([])
      expect(out['boldTags']).toBe(0)
      expect(out['warning']).toBe('short <window>')
      expect(out['filters']).toEqual({
        port8080: '2',
        rolePartner: '1',
        once: '5',
        continuous: '0',
        none: '5',
      })
      expect(out['evidence']).toContain('api-1 → db-</script><b>x')
      expect(out['evidence']).toContain('tcp/5432')
      expect(out['evidence']).toContain('300')
      expect(out['errors']).toEqual([])
      expect((out['requests'] as string[]).every((u) => u.startsWith('file:'))).toBe(true)
      expect(out['grouped']).toMatchObject({
        entities: g.entities.length,
        edges: g.edges.length,
        overlaps: [],
        errors: [],
      })
      expect(g.edges).toHaveLength(4)
      // the long name wraps into a box at most 400 px wide (plus padding and border), in 6 lines
      expect(out['long']).toMatchObject({ overlaps: [], errors: [] })
      const longBox = out['long'] as { widest: number; tallest: number }
      expect(longBox.widest).toBeLessThanOrEqual(420)
      expect(longBox.tallest).toBeGreaterThanOrEqual(6 * 12)
      expect(out['big']).toMatchObject({ entities: 40, edges: 120, overlaps: [], errors: [] })
      expect(out['dense']).toMatchObject({ entities: 250, edges: 5000, overlaps: [], errors: [] })
    }, 120_000)
  },
)

describe('renderHtml groups', () => {
  it('keeps app a/b role c and app a role b/c apart', () => {
    const map: DependencyMap = {
      ...MAP,
      entities: [
        entity('x1', { app: 'a/b', role: 'c' }),
        entity('x2', { app: 'a', role: 'b/c' }),
        entity('x3', { app: 'a\\', role: 'c' }),
      ],
      edges: [],
    }
    const page = renderHtml(map, '')
    const data = JSON.parse(/window\.bulkheadData = (.*);<\/script>/.exec(page)![1]!) as {
      nodes: { data: { id: string; parent?: string } }[]
    }
    const parent = new Map(data.nodes.map((n) => [n.data.id, n.data.parent]))
    const app = (id: string) => parent.get(parent.get(id) ?? '')
    // each workload sits in a role group inside its own app group
    expect(app('e:x1')).toBe('app:a/b')
    expect(app('e:x2')).toBe('app:a')
    expect(app('e:x3')).toBe('app:a\\')
    expect(new Set(['e:x1', 'e:x2', 'e:x3'].map((e) => parent.get(e))).size).toBe(3)
  })
})
