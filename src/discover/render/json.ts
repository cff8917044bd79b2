/**
 * @module `discover -o json`: the dependency map as stable JSON data (times ISO-8601 UTC, ports
 * as numbers).
 * @remarks Shape: issue 4 item 4. Stable: users' scripts read it.
 */
import { formatService, PROTOCOL_NAMES, UTC_ZONE } from '../../core/index.js'
import type { DependencyMap, EdgePattern, MapEntityKind } from '../types.js'

/** One entity in `discover -o json`. Stable. */
export interface DiscoverEntityOutput {
  readonly id: string
  readonly kind: MapEntityKind
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  /** For identities (`--group-by`): the workloads in it, sorted. */
  readonly members?: readonly string[]
}

/** One edge in `discover -o json`. Stable. */
export interface DiscoverEdgeOutput {
  /** Entity ids, client → server. */
  readonly src: string
  readonly dst: string
  /** Lower-case protocol name (`tcp`, `udp`, `icmp`, `icmpv6`, `sctp`), else the IANA number as text. */
  readonly protocol: string
  /** IANA protocol number. */
  readonly protocolNumber: number
  /** Destination port (ICMP: the type; 0 for protocols without ports). */
  readonly port: number
  readonly flows: number
  readonly packets: number
  readonly bytes: number
  /** ISO-8601 UTC. */
  readonly firstSeen: string
  readonly lastSeen: string
  readonly activeDays: number
  readonly pattern: EdgePattern
  /**
   * The edge's time profile in {@link DiscoverOutput.timeZone} (discover `TimeProfile`):
   * `hourOfWeek` 168 slots (slot 0 = Monday 00:00–01:00), each the flows open during some part of
   * that hour (a flow 01:10–03:50 in 1, 2 and 3; one open a week or more in all 168);
   * `dayOfMonth` 31 slots (slot 0 = day 1), each the flows active on such a day (a flow's start
   * day, every day it spans when open a day or more).
   */
  readonly profile: {
    readonly hourOfWeek: readonly number[]
    readonly dayOfMonth: readonly number[]
  }
  /** Flows whose direction is unknown (the edge may be reversed). */
  readonly unknownDirection: number
  /** Flows the observer rejected. */
  readonly rejected: number
}

/** The JSON shape of `bulkhead discover -o json`. Stable. */
export interface DiscoverOutput {
  /**
   * The span of the flows with a real time, ISO-8601 UTC; null when there were none (no flows,
   * or only flows with no real time).
   */
  readonly window: { readonly start: string; readonly end: string } | null
  /**
   * Flows with no real time (start 1970-01-01T00:00:00Z, as Zeek's masked timestamps are read):
   * in their edges' counts, not in the window, first/last seen or profiles. 0 when none.
   */
  readonly untimed: number
  /**
   * The IANA time zone of the edges' `profile`, `activeDays` and `pattern` (`--time-zone`, the
   * workspace's `timeZone`, else `UTC`). Times themselves are always UTC.
   */
  readonly timeZone: string
  readonly entities: readonly DiscoverEntityOutput[]
  readonly edges: readonly DiscoverEdgeOutput[]
  /**
   * Each flow source's window (a file, or a collector's stream), by format then file: at most
   * `maxSources` of them ({@link DiscoverOutputOptions}); the others are summed up in
   * {@link sourcesNotListed}.
   */
  readonly sources: readonly {
    readonly format: string
    readonly file: string
    readonly start: string
    readonly end: string
    readonly flows: number
    /** Of `flows`, those with no real time; `start`/`end` span the others. */
    readonly untimed: number
  }[]
  /**
   * Present only when `sources` does not list every source: how many it leaves out, their flows
   * (of which `untimed` have no real time), and the span of those with a real time, ISO-8601 UTC
   * (null when none has one).
   */
  readonly sourcesNotListed?: {
    readonly files: number
    readonly flows: number
    readonly untimed: number
    readonly start: string | null
    readonly end: string | null
  }
  /** Coverage warnings, `{code, severity, message}`. */
  readonly warnings: readonly { readonly code: string; readonly message: string }[]
}

/** ISO-8601 UTC without milliseconds when they are zero. */
export function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** Protocol name for output: `tcp`, …, else the number as text. */
export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol)
}

/** The service of an edge as the policy language spells it: `tcp/5432`, `icmp/8`, `esp`, `proto/33`. */
export function serviceText(protocol: number, port: number): string {
  return formatService({ protocol, ports: { lo: port, hi: port } })
}

/**
 * Sources `discover -o json|yaml` lists by default (`--max-sources`). A store grows a file per
 * interface and hour with AWS flow logs (300 000 after two weeks of a 20 000-workload estate):
 * listing them all would make the sources, about 210 bytes of JSON each, outweigh the map.
 */
export const MAX_SOURCES_LISTED = 1000

/** Options of {@link discoverOutput}. */
export interface DiscoverOutputOptions {
  /** Sources listed at most; the rest are summed up (`sourcesNotListed`). 0: every one. Default {@link MAX_SOURCES_LISTED}. */
  readonly maxSources?: number
}

/** The output data of a map. Pure. */
export function discoverOutput(
  map: DependencyMap,
  options: DiscoverOutputOptions = {},
): DiscoverOutput {
  const max = options.maxSources ?? MAX_SOURCES_LISTED
  const listed = max > 0 && map.sources.length > max ? map.sources.slice(0, max) : map.sources
  return {
    window: map.window ? { start: iso(map.window.start), end: iso(map.window.end) } : null,
    untimed: map.untimed ?? 0,
    timeZone: map.timeZone ?? UTC_ZONE,
    entities: map.entities.map((e) => ({
      id: e.id,
      kind: e.kind,
      name: e.name,
      labels: e.labels,
      ...(e.members ? { members: e.members } : {}),
    })),
    edges: map.edges.map((e) => ({
      src: e.src,
      dst: e.dst,
      protocol: protocolName(e.protocol),
      protocolNumber: e.protocol,
      port: e.dstPort,
      flows: e.flows,
      packets: e.packets,
      bytes: e.bytes,
      firstSeen: iso(e.firstSeen),
      lastSeen: iso(e.lastSeen),
      activeDays: e.activeDays,
      pattern: e.pattern,
      profile: { hourOfWeek: e.profile.hourOfWeek, dayOfMonth: e.profile.dayOfMonth },
      unknownDirection: e.unknownDirection,
      rejected: e.rejected,
    })),
    sources: listed.map((s) => ({
      format: s.format,
      file: s.file,
      start: iso(s.start),
      end: iso(s.end),
      flows: s.flows,
      untimed: s.untimed ?? 0,
    })),
    ...(listed.length < map.sources.length
      ? { sourcesNotListed: notListed(map.sources.slice(listed.length)) }
      : {}),
    warnings: map.diagnostics.map((d) => ({ code: d.code, message: d.message })),
  }
}

/** The summary of sources left out of the list (see {@link DiscoverOutput.sourcesNotListed}). */
function notListed(
  rest: DependencyMap['sources'],
): NonNullable<DiscoverOutput['sourcesNotListed']> {
  let flows = 0
  let untimed = 0
  let start = Infinity
  let end = -Infinity
  for (const s of rest) {
    flows += s.flows
    untimed += s.untimed ?? 0
    // a source of untimed flows only has no span (both 0)
    if (s.flows > (s.untimed ?? 0)) {
      start = Math.min(start, s.start)
      end = Math.max(end, s.end)
    }
  }
  const timed = start <= end
  return {
    files: rest.length,
    flows,
    untimed,
    start: timed ? iso(start) : null,
    end: timed ? iso(end) : null,
  }
}
