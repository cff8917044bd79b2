import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import type { Inventory } from '../../src/core/index.js'
import {
  buildDependencyMap,
  groupBy,
  profileOf,
  renderDot,
  renderMermaid,
  topEdges,
  type DependencyMap,
} from '../../src/discover/index.js'
import { loadWorkspace } from '../../src/policy/files.js'
import { openDuckDbStore, type FlowStore } from '../../src/store/index.js'
import { HTML_EDGES_HINT } from '../../src/cli/commands/discover.js'
import { cli } from '../helpers/cli.js'
import { edgeKey, END, generateEstate, INVENTORY_YAML, type Estate } from './estate.js'

const DAY = 86_400_000
const root = mkdtempSync(path.join(tmpdir(), 'bulkhead-discover-'))
const ws = path.join(root, 'estate')
const storeFile = path.join(ws, '.bulkhead', 'store.duckdb')
let estate: Estate
let inventory: Inventory
let map: DependencyMap

async function withStore<T>(fn: (s: FlowStore) => Promise<T>): Promise<T> {
  const s = await openDuckDbStore(storeFile)
  try {
    return await fn(s)
  } finally {
    await s.close()
  }
}

beforeAll(async () => {
  estate = generateEstate()
  mkdirSync(path.join(ws, 'inventory'), { recursive: true })
  mkdirSync(path.join(ws, 'flows'), { recursive: true })
  writeFileSync(path.join(ws, 'inventory', 'estate.yaml'), INVENTORY_YAML)
  const flows = path.join(ws, 'flows', 'vpc.log')
  writeFileSync(flows, `${estate.lines.join('\n')}\n`)
  const r = await cli('ingest', '-w', ws, flows, '-o', 'json')
  expect(r.code, r.stderr).toBe(0)
  const loaded = await loadWorkspace(ws, new Date(END))
  expect(loaded.diagnostics.filter((d) => d.severity !== 'warning')).toEqual([])
  inventory = loaded.inventory
  map = await withStore((s) => buildDependencyMap(s, inventory))
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('buildDependencyMap over a month of AWS VPC flow logs', () => {
  it('edges_equal_what_the_generator_put_in_with_counters_and_directions', () => {
    const got = new Map(map.edges.map((e) => [edgeKey(e.src, e.dst, e.protocol, e.dstPort), e]))
    expect([...got.keys()].sort()).toEqual([...estate.edges.keys()].sort())
    for (const [key, want] of estate.edges) {
      const e = got.get(key)!
      expect({ key, flows: e.flows, packets: e.packets, bytes: e.bytes }).toEqual({
        key,
        flows: want.flows,
        packets: want.packets,
        bytes: want.bytes,
      })
      expect(e.firstSeen, key).toBe(want.firstSeen)
      expect(e.lastSeen, key).toBe(want.lastSeen)
      expect(e.activeDays, key).toBe(want.days.size)
      expect(e.days, key).toEqual([...want.days].sort((a, b) => a - b))
      expect(e.unknownDirection, key).toBe(0)
      expect(e.rejected, key).toBe(0)
      // each flow in every hour slot it is open in, and on its start day (the flows are short)
      expect(e.profile, key).toEqual(profileOf(want.spans))
      expect(
        e.profile.dayOfMonth.reduce((a, b) => a + b, 0),
        key,
      ).toBe(want.flows)
    }
  })

  it('patterns_match_the_generated_rhythms', () => {
    const patterns: Record<string, string> = {}
    for (const [key, want] of estate.edges) if (want.pattern) patterns[key] = want.pattern
    const got: Record<string, string> = {}
    for (const e of map.edges) {
      const key = edgeKey(e.src, e.dst, e.protocol, e.dstPort)
      if (patterns[key] !== undefined) got[key] = e.pattern
    }
    expect(got).toEqual(patterns)
    // every rhythm of the generator is represented
    expect(new Set(Object.values(patterns))).toEqual(
      new Set(['business-hours', 'continuous', 'nightly', 'weekly', 'month-end', 'once']),
    )
  })

  it('a_reused_ip_maps_to_the_workload_holding_it_at_the_flow_time', () => {
    const from = map.edges.filter((e) => e.dst === 'api-1' && e.dstPort === 8080).map((e) => e.src)
    expect(from.sort()).toEqual(['10.50.0.7', 'ci-runner-7', 'ci-runner-8', 'web-1', 'web-2'])
    const ci7 = map.edges.find((e) => e.src === 'ci-runner-7')!
    expect(ci7.firstSeen).toBeGreaterThanOrEqual(Date.UTC(2026, 9, 1))
    expect(ci7.lastSeen).toBeLessThan(Date.UTC(2026, 9, 15) + DAY)
    expect(ci7.activeDays).toBe(14)
  })

  it('entities_are_every_workload_and_each_edge_endpoint_with_kinds_and_labels', () => {
    const kinds = Object.fromEntries(map.entities.map((e) => [e.id, e.kind]))
    expect(kinds).toEqual({
      'web-1': 'workload',
      'web-2': 'workload',
      'api-1': 'workload',
      'db-1': 'workload',
      'backup-1': 'workload',
      'batch-1': 'workload',
      'ledger-1': 'workload',
      'ci-runner-7': 'workload',
      'ci-runner-8': 'workload',
      'bank-sftp': 'external',
      '10.50.0.7': 'unmanaged',
      internet: 'unmanaged',
    })
    expect(map.entities.find((e) => e.id === 'db-1')?.labels).toEqual({ app: 'shop', role: 'db' })
    expect(map.entities.find((e) => e.id === 'bank-sftp')?.labels).toEqual({ role: 'partner' })
  })

  it('window_and_sources_span_the_flows_and_a_six_week_window_gives_no_monthly_warning', () => {
    expect(map.window!.start).toBe(Math.min(...[...estate.edges.values()].map((e) => e.firstSeen)))
    expect(map.window!.end).toBe(Math.max(...[...estate.edges.values()].map((e) => e.lastSeen)))
    expect(map.sources).toHaveLength(1)
    expect(map.sources[0]!.format).toBe('aws-vpc')
    expect(map.sources[0]!.flows).toBe([...estate.edges.values()].reduce((n, e) => n + e.flows, 0))
    expect(map.diagnostics).toEqual([])
  })

  it('on_progress_reports_the_store_work_from_0_to_1_and_nothing_after_and_the_map_is_the_same', async () => {
    // the edges stream in batches, each reported as the share of the flows it counts, so the
    // reports end at 1 however fast the queries were
    const seen: number[] = []
    let settled = false
    let late = 0
    const withProgress = await withStore((s) =>
      buildDependencyMap(s, inventory, {
        onProgress: (f) => {
          if (settled) late++
          seen.push(f)
        },
      }),
    )
    settled = true
    expect(seen.length).toBeGreaterThan(0)
    for (const f of seen) {
      expect(f).toBeGreaterThanOrEqual(0)
      expect(f).toBeLessThanOrEqual(1)
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(seen)
    expect(seen.at(-1)).toBeCloseTo(1, 9)
    expect(withProgress).toEqual(map)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(late).toBe(0)
  })

  it('edges_are_sorted_by_flows_descending', () => {
    for (let i = 1; i < map.edges.length; i++)
      expect(map.edges[i - 1]!.flows).toBeGreaterThanOrEqual(map.edges[i]!.flows)
  })

  it('a_twenty_day_window_warns_discover_short_window_and_misses_the_month_end', async () => {
    const since = Date.UTC(2026, 9, 5)
    const short = await withStore((s) =>
      buildDependencyMap(s, inventory, { since, until: since + 20 * DAY }),
    )
    expect(short.diagnostics.map((d) => [d.code, d.severity])).toEqual([
      ['discover/short-window', 'warning'],
    ])
    expect(short.window!.start).toBeGreaterThanOrEqual(since)
    expect(short.edges.some((e) => e.pattern === 'month-end')).toBe(false)
    // weekly is satisfied by 20 days, quarterly is not
    const q = await withStore((s) =>
      buildDependencyMap(s, inventory, {
        since,
        until: since + 20 * DAY,
        expect: ['weekly', 'quarterly'],
      }),
    )
    expect(q.diagnostics).toHaveLength(1)
    expect(q.diagnostics[0]!.message).toContain('quarterly')
    const full = await withStore((s) => buildDependencyMap(s, inventory, { expect: ['quarterly'] }))
    expect(full.diagnostics.map((d) => d.code)).toEqual(['discover/short-window'])
  })

  it('time_bounds_are_half_open_on_flow_start', async () => {
    const since = Date.UTC(2026, 9, 31)
    const m = await withStore((s) =>
      buildDependencyMap(s, inventory, { since, until: since + DAY }),
    )
    const me = m.edges.find((e) => e.src === 'batch-1' && e.dst === 'ledger-1')!
    expect(me.flows).toBe(6)
    expect(me.firstSeen).toBeGreaterThanOrEqual(since)
    for (const e of m.edges) expect(e.firstSeen).toBeLessThan(since + DAY)
    const none = await withStore((s) => buildDependencyMap(s, inventory, { since: END + 10 * DAY }))
    expect(none).toEqual({
      window: undefined,
      entities: expect.any(Array),
      edges: [],
      sources: [],
      diagnostics: [],
    })
  })

  it('keep_public_ips_and_private_grouping_change_unmanaged_entities', async () => {
    const m = await withStore((s) =>
      buildDependencyMap(s, inventory, { keepPublicIps: true, privateGrouping: 16 }),
    )
    const ids = m.entities
      .filter((e) => e.kind === 'unmanaged')
      .map((e) => e.id)
      .sort()
    expect(ids).toEqual(['10.50.0.7', '203.0.113.50'])
  })

  it('group_by_app_role_collapses_workloads_and_merges_edges_exactly', () => {
    const g = groupBy(map, ['app', 'role'])
    const web = g.entities.find((e) => e.id === 'shop/web')!
    expect(web).toMatchObject({
      kind: 'identity',
      labels: { app: 'shop', role: 'web' },
      members: ['web-1', 'web-2'],
    })
    const e = g.edges.find((x) => x.src === 'shop/web' && x.dst === 'shop/api')!
    const parts = map.edges.filter(
      (x) => (x.src === 'web-1' || x.src === 'web-2') && x.dst === 'api-1',
    )
    expect(e.flows).toBe(parts.reduce((n, x) => n + x.flows, 0))
    expect(e.activeDays).toBe(new Set(parts.flatMap((x) => x.days ?? [])).size)
    expect(e.pattern).toBe('business-hours')
    // the three phases of 10.50.0.7 -> api-1: ci/build (both runners) and the unmanaged range
    const ci = g.edges.find((x) => x.src === 'ci/build')!
    expect(ci.activeDays).toBe(35)
    expect(g.edges.reduce((n, x) => n + x.flows, 0)).toBe(
      map.edges.reduce((n, x) => n + x.flows, 0),
    )
    expect(g.entities.some((x) => x.kind === 'workload')).toBe(false)
  })

  it('top_n_keeps_the_n_busiest_edges_and_their_entities', () => {
    const t = topEdges(map, 2)
    expect(t.edges).toEqual(map.edges.slice(0, 2))
    expect(new Set(t.entities.map((e) => e.id))).toEqual(
      new Set(t.edges.flatMap((e) => [e.src, e.dst])),
    )
  })

  it('dot_and_mermaid_match_the_golden_files', async () => {
    const g = groupBy(map, ['app', 'role'])
    await expect(renderDot(map)).toMatchFileSnapshot('../golden/discover/estate.dot')
    await expect(renderMermaid(map)).toMatchFileSnapshot('../golden/discover/estate.mmd')
    await expect(renderDot(g)).toMatchFileSnapshot('../golden/discover/estate-app-role.dot')
  })
})

describe('bulkhead discover', () => {
  it('json_output_has_the_documented_shape', async () => {
    const r = await cli('discover', '-w', ws, '-o', 'json')
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      window: { start: string; end: string }
      entities: { id: string; kind: string; name: string; labels: object }[]
      edges: Record<string, unknown>[]
    }
    expect(out.window.start).toBe(new Date(map.window!.start).toISOString().replace('.000Z', 'Z'))
    expect(out).toHaveProperty('timeZone', 'UTC')
    expect(out.entities).toHaveLength(map.entities.length)
    expect(out.edges).toHaveLength(map.edges.length)
    const nightly = out.edges.find((e) => e['pattern'] === 'nightly')!
    expect(nightly).toMatchObject({
      src: 'db-1',
      dst: 'backup-1',
      protocol: 'tcp',
      protocolNumber: 6,
      port: 22,
    })
    expect(typeof nightly['port']).toBe('number')
    expect(nightly['firstSeen']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(nightly['activeDays']).toBe(42)
    // the time profile as the map holds it: 168 hour-of-week and 31 day-of-month slots
    const edge = map.edges.find((e) => e.pattern === 'nightly')!
    const profile = nightly['profile'] as { hourOfWeek: number[]; dayOfMonth: number[] }
    expect(profile.hourOfWeek).toHaveLength(168)
    expect(profile.dayOfMonth).toHaveLength(31)
    expect(profile).toEqual({
      hourOfWeek: edge.profile.hourOfWeek,
      dayOfMonth: edge.profile.dayOfMonth,
    })
    // each profile on one line (199 lines an edge, most of the bytes, when a number a line);
    // the document otherwise pretty-printed, two spaces a level
    const lines = r.stdout.split('\n')
    expect(lines).toContain(`        "hourOfWeek": [${edge.profile.hourOfWeek.join(', ')}],`)
    expect(lines).toContain(`        "dayOfMonth": [${edge.profile.dayOfMonth.join(', ')}]`)
    expect(lines).toContain('      "profile": {')
    expect(lines.filter((l) => /^ *-?\d+,?$/.test(l))).toEqual([])
    // a flow in each hour it is open in: at least one slot each; on one day each (all are short)
    expect(profile.hourOfWeek.reduce((n, x) => n + x, 0)).toBeGreaterThanOrEqual(
      nightly['flows'] as number,
    )
    expect(profile.dayOfMonth.reduce((n, x) => n + x, 0)).toBe(nightly['flows'])
  })

  it('yaml_output_is_the_json_output_with_each_profile_on_one_line', async () => {
    const [y, j] = [
      await cli('discover', '-w', ws, '-o', 'yaml'),
      await cli('discover', '-w', ws, '-o', 'json'),
    ]
    expect(y.code, y.stderr).toBe(0)
    expect(parseYaml(y.stdout) as unknown).toEqual(JSON.parse(j.stdout) as unknown)
    // each profile in flow style on one line, however long (199 lines of `- 0` an edge before);
    // the document otherwise in block style, two spaces a level
    const edge = map.edges.find((e) => e.pattern === 'nightly')!
    const lines = y.stdout.split('\n')
    expect(lines).toContain(`      hourOfWeek: [${edge.profile.hourOfWeek.join(', ')}]`)
    expect(lines).toContain(`      dayOfMonth: [${edge.profile.dayOfMonth.join(', ')}]`)
    expect(lines).toContain('    profile:')
    expect(lines).toContain('  - src: db-1')
    expect(lines.filter((l) => /^ *- -?\d+$/.test(l))).toEqual([])
  })

  it('text_dot_mermaid_yaml_and_out_file', async () => {
    const t = await cli('discover', '-w', ws, '--top', '3')
    expect(t.code, t.stderr).toBe(0)
    expect(t.stdout).toContain('SOURCE')
    expect(
      t.stdout
        .trim()
        .split('\n')
        .filter((l) => /tcp\//.test(l)),
    ).toHaveLength(3)
    const d = await cli('discover', '-w', ws, '-o', 'dot', '--group-by', 'app,role')
    expect(d.stdout).toContain('"shop/web" -> "shop/api"')
    const m = await cli('discover', '-w', ws, '-o', 'mermaid')
    expect(m.stdout.startsWith('flowchart LR')).toBe(true)
    const y = await cli('discover', '-w', ws, '-o', 'yaml', '--top', '1')
    expect(y.stdout).toContain('edges:')
    const file = path.join(root, 'map.html')
    const h = await cli('discover', '-w', ws, '-o', 'html', '--out', file)
    expect(h.code, h.stderr).toBe(0)
    expect(h.stdout).toBe('')
    expect(readFileSync(file, 'utf8')).toContain('window.bulkheadData')
  })

  it('html_of_more_edges_than_a_browser_lays_out_warns_and_says_how_to_draw_fewer', async () => {
    const big = path.join(root, 'many-edges')
    expect((await cli('init', '-w', big)).code).toBe(0)
    const csv = path.join(big, 'flows.csv')
    const rows = Array.from(
      { length: HTML_EDGES_HINT + 1 },
      (_, i) => `10.0.0.1,10.0.1.${i % 200},40000,${1000 + i},6,1790000000,1790000001,2,120`,
    )
    writeFileSync(
      csv,
      ['src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes', ...rows].join('\n'),
    )
    expect((await cli('ingest', '-w', big, csv)).code).toBe(0)
    const file = path.join(big, 'map.html')
    const all = await cli('discover', '-w', big, '-o', 'html', '--out', file)
    expect(all.code, all.stderr).toBe(0)
    expect(all.stderr).toContain('warning discover/large-html-map')
    expect(all.stderr).toContain(`--top ${HTML_EDGES_HINT}`)
    expect(all.stderr).toContain(`${HTML_EDGES_HINT + 1} edges`)
    const page = readFileSync(file, 'utf8')
    const data = JSON.parse(/window\.bulkheadData = (.*);<\/script>/.exec(page)![1]!) as {
      edges: unknown[]
    }
    expect(data.edges).toHaveLength(HTML_EDGES_HINT + 1)
    const top = await cli(
      'discover',
      '-w',
      big,
      '-o',
      'html',
      '--top',
      `${HTML_EDGES_HINT}`,
      '--out',
      file,
    )
    expect(top.code, top.stderr).toBe(0)
    expect(top.stderr).not.toContain('discover/large-html-map')
  })

  it('a_short_window_prints_the_warning_and_still_exits_0', async () => {
    const r = await cli(
      'discover',
      '-w',
      ws,
      '--since',
      '2026-10-05',
      '--until',
      '2026-10-25',
      '-o',
      'json',
    )
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('warning discover/short-window')
    const q = await cli(
      'discover',
      '-w',
      ws,
      '--expect',
      'weekly',
      '--since',
      '2026-10-05',
      '--until',
      '2026-10-25',
    )
    expect(q.stderr).not.toContain('discover/short-window')
  })

  it('no_store_or_an_empty_window_is_error_discover_no_flows_exit_1', async () => {
    const empty = path.join(root, 'empty')
    mkdirSync(path.join(empty, 'inventory'), { recursive: true })
    const r = await cli('discover', '-w', empty)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error discover/no-flows')
    expect(existsSync(path.join(empty, '.bulkhead'))).toBe(false)
    expect(r.stderr).toContain('ingest flow logs first')
    const w = await cli('discover', '-w', ws, '--since', '2030-01-01')
    expect(w.code).toBe(1)
    expect(w.stderr).toContain('discover/no-flows')
    // the store holds flows, none in the window: the hint is the window, not ingesting first
    expect(w.stderr).toContain('widen or move --since/--until')
    expect(w.stderr).not.toContain('ingest flow logs first')
  })

  it('bad_flags_are_usage_errors', async () => {
    for (const args of [
      ['--expect', 'hourly'],
      ['--expect', 'constructor'],
      ['--top', 'x'],
      ['-o', 'svg'],
      ['--private-grouping', '40'],
      ['--since', '2026-11-01', '--until', '2026-10-01'],
    ]) {
      const r = await cli('discover', '-w', ws, ...args)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toContain('cli/usage')
    }
  })
})
