/**
 * @module Feasibility study for issue 6 (not a benchmark, not run by `npm run bench`): over the
 * `eval` benchmark's flows at 100 000 workloads × R rules, how many flows would fall in a K×K
 * dense corner of (from-list id, to-list id) if list ids were renumbered by flow use (most used
 * first), how many distinct decision rows those flows use, and how many bytes the hot working set
 * of such a corner would be. Reads PolicyIndex internals (fromList, toList, cols, rowOf) through
 * a cast: a measuring tool only.
 *
 * Run: `npx tsx bench/corner-feasibility.ts [RULES ...]` (default 100 and 100000);
 * `BENCH_SCALE` shrinks workloads, rules and flows as in bench/eval.ts. Prints JSON on stdout.
 */
import { PolicyIndex } from '../src/policy/policy-index.js'
import { classPass, rate, type Encoded } from './eval.js'
import {
  DAY0,
  generateEstate,
  generateFlows,
  generatePolicies,
  type FlowColumns,
} from './generate-estate.js'

/** The internals this study reads (private fields of PolicyIndex). */
interface Internals {
  fromList: Int32Array
  toList: Int32Array
  cols: { count: number; protoOff: Int32Array; protoMax: Int32Array; portCol: Int32Array }
  rowOf(f: number, g: number): number
  lists: Int32Array[]
  rowUsed: number
}

const LINE = 64

function study(workloads: number, rules: number, flowCount: number): unknown {
  const now = DAY0 + 12 * 3_600_000
  const estate = generateEstate(workloads)
  const flows = generateFlows(estate, flowCount)
  const policySet = generatePolicies(estate, rules)
  const index = PolicyIndex.build(estate.inventory, policySet, now)
  const x = index as unknown as Internals
  const n = flows.count
  const src = new Int32Array(n)
  const dst = new Int32Array(n)
  const cache = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const at = flows.at[i] as number
    const cls = (ip: string): number => {
      if (index.addressChanges(ip).length > 0) return index.endpointClass(ip, at)
      let c = cache.get(ip)
      if (c === undefined) cache.set(ip, (c = index.endpointClass(ip, at)))
      return c
    }
    src[i] = cls(flows.src[i] as string)
    dst[i] = cls(flows.dst[i] as string)
  }
  // warm: every list id and row exists after one pass
  for (let i = 0; i < n; i++)
    index.decideClasses(
      src[i] as number,
      dst[i] as number,
      flows.protocol[i] as number,
      flows.dstPort[i] as number,
    )
  const cols = x.cols
  const f = new Int32Array(n)
  const g = new Int32Array(n)
  const row = new Int32Array(n).fill(-1) // row index (offset / cols.count), −1: not a row read
  const col = new Int32Array(n).fill(-1)
  const pcol = new Int32Array(n).fill(-1) // portCol index read, −1 when none
  for (let i = 0; i < n; i++) {
    const s = src[i] as number
    const d = dst[i] as number
    f[i] = x.fromList[s] as number
    g[i] = x.toList[d] as number
    const p = flows.protocol[i] as number
    const port = flows.dstPort[i] as number
    // flows decided without rules (ICMP errors, link control) never read a row; the bench has none
    const r = x.rowOf(f[i] as number, g[i] as number) / cols.count
    row[i] = r
    const off = cols.protoOff[p] as number
    if (off < 0) col[i] = 0
    else {
      pcol[i] = off + port
      col[i] = cols.portCol[off + port] as number
    }
  }
  const rankOf = (ids: Int32Array): Int32Array => {
    const uses = new Map<number, number>()
    for (const id of ids) uses.set(id, (uses.get(id) ?? 0) + 1)
    const order = [...uses].sort((a, b) => b[1] - a[1] || a[0] - b[0])
    const rank = new Int32Array(x.lists.length + 1).fill(-1)
    order.forEach(([id], k) => {
      rank[id] = k
    })
    return rank
  }
  const rf = rankOf(f)
  const rg = rankOf(g)
  const distinct = (xs: Iterable<number>): number => new Set(xs).size
  const usedClassesFrom = distinct(src)
  const usedClassesTo = distinct(dst)
  const corners = [128, 256, 512, 1024, 2048].map((K) => {
    let inside = 0
    const rows = new Set<number>()
    const rowLines4 = new Set<number>()
    const rowLines2 = new Set<number>()
    const cornerLines = new Set<number>()
    for (let i = 0; i < n; i++) {
      const a = rf[f[i] as number] as number
      const b = rg[g[i] as number] as number
      if (a >= K || b >= K) continue
      inside++
      const r = row[i] as number
      rows.add(r)
      const c = col[i] as number
      rowLines4.add(Math.floor(((r * cols.count + c) * 4) / LINE))
      rowLines2.add(Math.floor(((r * cols.count + c) * 2) / LINE))
      // 8×8 tiles of Uint16: one 128-byte tile, two lines
      cornerLines.add(
        Math.floor((((a >> 3) * (K >> 3) + (b >> 3)) * 128 + ((a & 7) * 8 + (b & 7)) * 2) / LINE),
      )
    }
    return {
      K,
      flowsInside: inside,
      shareInsideBestSets: bestSets(f, g, K),
      shareInside: Math.round((inside / n) * 10000) / 10000,
      distinctRows: rows.size,
      cornerBytes: K * K * 2,
      cornerBytesTouched: cornerLines.size * LINE,
      hotRowsBytesInt32: rows.size * cols.count * 4,
      hotRowsBytesUint16: rows.size * cols.count * 2,
      hotRowLinesBytesInt32: rowLines4.size * LINE,
      hotRowLinesBytesUint16: rowLines2.size * LINE,
    }
  })
  // rectangles of 2¹⁸ pairs (512 KB at 2 bytes a pair): Kf from-lists × Kg to-lists, ranked by use
  const rectangles = [64, 128, 256, 512, 1024, 2048, 4096].map((Kf) => {
    const Kg = 262144 / Kf
    let inside = 0
    for (let i = 0; i < n; i++)
      if ((rf[f[i] as number] as number) < Kf && (rg[g[i] as number] as number) < Kg) inside++
    return { Kf, Kg, shareInside: Math.round((inside / n) * 10000) / 10000 }
  })
  // today: list ids in first-touch order, dense corner below 1024
  let todayDense = 0
  for (let i = 0; i < n; i++) if (((f[i] as number) | (g[i] as number)) < 1024) todayDense++
  const timing = TIME
    ? timeSplit(index, src, dst, flows.protocol, flows.dstPort, rf, rg, f, g)
    : null
  const pcolLines = new Set<number>()
  for (const p of pcol) if (p >= 0) pcolLines.add(Math.floor((p * 4) / LINE))
  const classLines = (ids: Int32Array): number => {
    const s = new Set<number>()
    for (const c of ids) s.add(Math.floor((c * 4) / LINE))
    return s.size * LINE
  }
  return {
    workloads,
    rules,
    flows: n,
    columns: cols.count,
    lists: x.lists.length,
    distinctFromLists: distinct(f),
    distinctToLists: distinct(g),
    distinctPairs: distinct(Array.from(f, (a, i) => a * 2 ** 22 + (g[i] as number))),
    distinctRows: distinct(row),
    rowBytesAllInt32: x.rowUsed * 4,
    usedClasses: { from: usedClassesFrom, to: usedClassesTo },
    classArraysBytes: {
      all: x.fromList.length * 8,
      touchedLines: classLines(src) + classLines(dst),
    },
    portColBytes: { all: cols.portCol.length * 4, touchedLines: pcolLines.size * LINE },
    todayDenseShare: Math.round((todayDense / n) * 10000) / 10000,
    corners,
    rectangles,
    timing,
  }
}

/**
 * The share of flows inside the best K×K corner found by alternating choice (start from the K most
 * used from-lists and to-lists; pick the K to-lists with most flows from the chosen from-lists,
 * then the K from-lists with most flows to the chosen to-lists; repeat until no gain): a local
 * optimum, at least as good as ranking each side by its own use.
 */
function bestSets(f: Int32Array, g: Int32Array, K: number): number {
  const n = f.length
  const top = (ids: Int32Array, ok: (i: number) => boolean): Set<number> => {
    const uses = new Map<number, number>()
    for (let i = 0; i < n; i++)
      if (ok(i)) uses.set(ids[i] as number, (uses.get(ids[i] as number) ?? 0) + 1)
    return new Set(
      [...uses]
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, K)
        .map(([id]) => id),
    )
  }
  let fs = top(f, () => true)
  let gs = top(g, () => true)
  const covered = (): number => {
    let k = 0
    for (let i = 0; i < n; i++) if (fs.has(f[i] as number) && gs.has(g[i] as number)) k++
    return k
  }
  let best = covered()
  for (let round = 0; round < 20; round++) {
    gs = top(g, (i) => fs.has(f[i] as number))
    fs = top(f, (i) => gs.has(g[i] as number))
    const c = covered()
    if (c <= best) break
    best = c
  }
  return Math.round((best / n) * 10000) / 10000
}

const TIME = process.env['TIME'] === '1'

/** Verdicts per second of decideClasses over a subset of the flows (in flow order), ≥ 1.5 s. */
function subsetRate(
  index: PolicyIndex,
  src: Int32Array,
  dst: Int32Array,
  protocol: Int32Array,
  dstPort: Int32Array,
): number {
  const count = src.length
  const e: Encoded = { src, dst, seconds: 0, distinct: 0, timed: 0 }
  const f: FlowColumns = { count, src: [], dst: [], protocol, dstPort, at: new Float64Array(count) }
  classPass(index, e, f)
  return rate(() => classPass(index, e, f), count, 1500).rate
}

/**
 * Rates of the current index over all flows, and over the flows inside / outside the K×K corner
 * of use-ranked list ids, each subset run alone (so each has the caches to itself: the outside
 * rate is an optimistic bound of what those flows cost in a mixed stream).
 */
function timeSplit(
  index: PolicyIndex,
  src: Int32Array,
  dst: Int32Array,
  protocol: Int32Array,
  dstPort: Int32Array,
  rf: Int32Array,
  rg: Int32Array,
  f: Int32Array,
  g: Int32Array,
): unknown {
  const out: Record<string, unknown> = { all: subsetRate(index, src, dst, protocol, dstPort) }
  for (const K of [256, 512, 1024]) {
    const pick = (inside: boolean): number[] => {
      const ks: number[] = []
      for (let i = 0; i < src.length; i++) {
        const inC = (rf[f[i] as number] as number) < K && (rg[g[i] as number] as number) < K
        if (inC === inside) ks.push(i)
      }
      return ks
    }
    for (const inside of [true, false]) {
      const ks = pick(inside)
      const sub = (a: Int32Array): Int32Array => Int32Array.from(ks, (i) => a[i] as number)
      out[`${inside ? 'inside' : 'outside'}${K}`] = subsetRate(
        index,
        sub(src),
        sub(dst),
        sub(protocol),
        sub(dstPort),
      )
    }
  }
  return out
}

const scale = Number(process.env['BENCH_SCALE'] ?? '1')
const ruleArgs = process.argv.slice(2).map(Number)
const out = []
for (const r of ruleArgs.length > 0 ? ruleArgs : [100, 100_000]) {
  const t = performance.now()
  out.push(
    study(
      Math.max(200, Math.round(100_000 * scale)),
      Math.max(10, Math.round(r * scale)),
      Math.max(10_000, Math.round(1_000_000 * scale)),
    ),
  )
  process.stderr.write(`rules ${r}: ${((performance.now() - t) / 1000).toFixed(1)} s\n`)
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
