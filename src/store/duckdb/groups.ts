/**
 * @module {@link FlowStore.groupFlows} on the DuckDB store: stored flows grouped for judging, on
 * `flow_rows`' ids, each distinct address and file decoded once.
 * @remarks The codes are those of `FLOW_COLUMNS` (./schema.ts): `observed_action` 1 reject,
 * `direction` 1 client-to-server, 2 server-to-client, any other 0 unknown (as the `flows` view
 * reads them); the day is the view's (UTC date of `start_ms`).
 */
import { NO_TIME_MS, type FlowDirection, type FlowSource } from '../../core/index.js'
import {
  windowWhere,
  type ColumnBatch,
  type FlowQuery,
  type FlowStore,
  type GroupFlowsOptions,
  type StoredFlowGroup,
} from '../store.js'

/** `flow_rows` id → value tables: what the `flows` view shows for each id stored. */
export interface FlowDictionaries {
  /** `flow_rows.src` / `dst` id → the address as canonical text. */
  readonly addresses: ReadonlyMap<number, string>
  /** `flow_rows.source` id → the flow's `format` (parser name) and `file` (as given to ingest). */
  readonly sources: ReadonlyMap<number, { readonly format: string; readonly file: string }>
}

/** SQL: a row of `flow_rows` alias `fr` is a reply whose service is its source port. */
const REPLY_BY_SOURCE_PORT = `fr.direction = 2 AND fr.protocol NOT IN (1, 58)`
/** SQL: the direction code of `fr`, any code but 1 and 2 read as 0 ({@link DIRECTION_NAMES}). */
const DIRECTION = `CASE fr.direction WHEN 1 THEN 1 WHEN 2 THEN 2 ELSE 0 END`
/** The direction of each {@link DIRECTION} code. */
const DIRECTION_NAMES: readonly FlowDirection[] = [
  'unknown',
  'client-to-server',
  'server-to-client',
]
/**
 * SQL: the ports a group of `fr` keeps (StoredFlowGroup: a reply's source port with destination
 * port 0, else source port 0 and the destination port), in the grouping and in the split query.
 */
const GROUP_SPORT = `CASE WHEN ${REPLY_BY_SOURCE_PORT} THEN fr.src_port ELSE 0 END`
const GROUP_DPORT = `CASE WHEN ${REPLY_BY_SOURCE_PORT} THEN 0 ELSE fr.dst_port END`

/** The columns of the grouping query, in its SELECT order. */
const G_SRC = 0
const G_DST = 1
const G_PROTOCOL = 2
const G_DIRECTION = 3
const G_SPORT = 4
const G_DPORT = 5
const G_RJ = 6
const G_N = 7
const G_T0 = 8
const G_T1 = 9
const G_LAST = 10
const G_EX = 11
/** The fields of an example in the grouping query's `ex` list, in their `struct_pack` order. */
const EX_SOURCE = 0
const EX_LINE = 1
const EX_RECORD = 2
const EX_START = 3

/** The grouping query for at most `examples` examples a group, with the window clause `where`. */
function groupingSql(examples: number, where: string): string {
  // the examples: the first by start, then file, line and record (the Simulator's order), so the
  // store gives the examples replaying the files gives, ties included
  return `SELECT fr.src, fr.dst, fr.protocol, ${DIRECTION} AS direction,
       ${GROUP_SPORT} AS sport, ${GROUP_DPORT} AS dport,
       fr.observed_action = 1 AS rj, count(*) AS n, min(fr.start_ms) AS t0, max(fr.start_ms) AS t1,
       max(fr.end_ms) AS last,
       arg_min(struct_pack(source := fr.source, line := fr.line, record := fr.record, start := fr.start_ms),
         struct_pack(s := fr.start_ms, f := so.file, l := coalesce(fr.line, -1), r := coalesce(fr.record, -1)),
         ${String(examples)}) AS ex
     FROM flow_rows fr LEFT JOIN sources so ON so.id = fr.source ${where}
     GROUP BY fr.src, fr.dst, fr.protocol, direction, sport, dport,
       CAST(epoch_ms(fr.start_ms) AS DATE), fr.start_ms = ${String(NO_TIME_MS)}, rj`
}

/** The temporary table of the groups to split: their keys and spans. */
const SPLIT_TABLE = 'tmp_bulkhead_split_groups'

/** The rows of the split groups, by group number (the order they were split), then start. */
const SPLIT_SQL = `SELECT s.g, fr.source, fr.line, fr.record, fr.start_ms, fr.end_ms
  FROM flow_rows fr JOIN ${SPLIT_TABLE} s
    ON fr.src = s.src AND fr.dst = s.dst AND fr.protocol = s.protocol
   AND ${DIRECTION} = s.direction AND ${GROUP_SPORT} = s.sport AND ${GROUP_DPORT} = s.dport
   AND (fr.observed_action = 1) = (s.rj = 1)
   AND fr.start_ms BETWEEN s.t0 AND s.t1
  ORDER BY s.g, fr.start_ms, fr.source, fr.line, fr.record`

/** A number column value (the grouping query's integers all fit a JS number). */
function n(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number)
}

/**
 * {@link FlowStore.groupFlows} over `store`'s `flow_rows`, decoding ids with `dict` (every stored
 * address and source). Runs the grouping query, then, when groups were split, loads their keys
 * into a temporary table and reads their rows in one query.
 */
export async function groupStoredFlows(
  store: FlowStore,
  dict: FlowDictionaries,
  q: Omit<FlowQuery, 'limit'>,
  options: GroupFlowsOptions,
  onGroup: (group: StoredFlowGroup) => void,
): Promise<{ groups: number; split: number }> {
  const { examples, split } = options
  if (!(examples >= 1)) throw new RangeError(`examples must be at least 1, got ${String(examples)}`)
  const source = (id: unknown): { format: string; file: string } =>
    dict.sources.get(n(id)) as { format: string; file: string }
  const toSplit: StoredFlowGroup[] = []
  const { where, params } = windowWhere(q, 'fr.start_ms')
  const onBatch = (b: ColumnBatch): void => {
    for (let i = 0; i < b.rowCount; i++) {
      const srcId = n(b.value(G_SRC, i))
      const dstId = n(b.value(G_DST, i))
      const first = n(b.value(G_T0, i))
      const ex: { source: FlowSource; start: number }[] = []
      const from = b.listOffset(G_EX, i)
      for (let k = from, end = from + b.listLength(G_EX, i); k < end; k++) {
        const line = b.elementField(G_EX, k, EX_LINE)
        const record = b.elementField(G_EX, k, EX_RECORD)
        const so = source(b.elementField(G_EX, k, EX_SOURCE))
        ex.push({
          source: {
            format: so.format,
            file: so.file,
            ...(line !== null ? { line: n(line) } : {}),
            ...(record !== null ? { record: n(record) } : {}),
          },
          start: n(b.elementField(G_EX, k, EX_START)),
        })
      }
      const g: StoredFlowGroup = {
        srcId,
        dstId,
        src: dict.addresses.get(srcId) as string,
        dst: dict.addresses.get(dstId) as string,
        srcPort: n(b.value(G_SPORT, i)),
        dstPort: n(b.value(G_DPORT, i)),
        protocol: n(b.value(G_PROTOCOL, i)),
        direction: DIRECTION_NAMES[n(b.value(G_DIRECTION, i))] as FlowDirection,
        rejected: b.value(G_RJ, i) === true,
        count: n(b.value(G_N, i)),
        first,
        lastStart: n(b.value(G_T1, i)),
        last: n(b.value(G_LAST, i)),
        at: first,
        examples: ex,
      }
      if (split?.(g) === true) toSplit.push(g)
      else onGroup(g)
    }
  }
  const groups = await store.queryColumnBatches(
    groupingSql(examples, where),
    params,
    onBatch,
    options.onProgress !== undefined ? { onProgress: options.onProgress } : {},
  )
  if (toSplit.length > 0) await giveSplitFlows(store, dict, toSplit, onGroup)
  return { groups, split: toSplit.length }
}

/** Gives the flows of the groups `split` one by one, each as a group of one ({@link SPLIT_SQL}). */
async function giveSplitFlows(
  store: FlowStore,
  dict: FlowDictionaries,
  split: readonly StoredFlowGroup[],
  onGroup: (group: StoredFlowGroup) => void,
): Promise<void> {
  await store.loadTempTable(
    SPLIT_TABLE,
    ['g', 'src', 'dst', 'protocol', 'direction', 'sport', 'dport', 'rj', 't0', 't1'].map(
      (name) => ({
        name,
        type: 'BIGINT' as const,
      }),
    ),
    split.map((g, k) => [
      k,
      g.srcId,
      g.dstId,
      g.protocol,
      DIRECTION_NAMES.indexOf(g.direction),
      g.srcPort,
      g.dstPort,
      g.rejected ? 1 : 0,
      g.first,
      g.lastStart,
    ]),
  )
  try {
    await store.queryColumnBatches(SPLIT_SQL, [], (b) => {
      for (let i = 0; i < b.rowCount; i++) {
        const g = split[n(b.value(0, i))] as StoredFlowGroup
        const so = dict.sources.get(n(b.value(1, i))) as { format: string; file: string }
        const line = b.value(2, i)
        const record = b.value(3, i)
        const start = n(b.value(4, i))
        onGroup({
          ...g,
          count: 1,
          first: start,
          lastStart: start,
          last: n(b.value(5, i)),
          at: start,
          examples: [
            {
              source: {
                format: so.format,
                file: so.file,
                ...(line !== null ? { line: n(line) } : {}),
                ...(record !== null ? { record: n(record) } : {}),
              },
              start,
            },
          ],
        })
      }
    })
  } finally {
    await store.dropTempTable(SPLIT_TABLE)
  }
}
