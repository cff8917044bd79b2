/**
 * @module Per-exporter template cache for NetFlow v9 and IPFIX, with bounded memory.
 *
 * Templates are keyed by (exporter, observation domain / source id, template id), as RFC 7011
 * §8 and RFC 3954 §5 require: the same template id from two exporters, or from two domains of one
 * exporter, are different templates. For files the exporter is the file name; for the UDP
 * collector it is the remote address.
 *
 * Memory bounds (all configurable through {@link TemplateLimits}; defaults in {@link DEFAULT_LIMITS}):
 * - at most `maxExporters` exporters (default 1024); the least recently used exporter is dropped
 *   with its templates and held sets;
 * - at most `maxTemplatesPerExporter` templates per exporter across its domains (default 4096)
 *   and at most `maxTemplateFieldsPerExporter` field specifiers in them (default 65 536, a few
 *   MB: one template can hold up to 16 383); the oldest-defined template is dropped first;
 * - at most `maxTemplateFieldsTotal` field specifiers across exporters (default 1 Mi); the least
 *   recently used other exporter is dropped first, with its templates and held sets;
 * - data sets that arrive before their template are held, at most `maxPendingSetsPerExporter`
 *   (default 64) and `maxPendingBytesPerExporter` (default 1 MiB) per exporter and
 *   `maxPendingBytesTotal` (default 16 MiB) overall; the oldest held set is dropped first, and a
 *   dropped set counts as `no-template`.
 */

/** One field specifier of a template (RFC 7011 §3.2, RFC 3954 §5.2). */
export interface TemplateField {
  /** Information element id (IPFIX: without the enterprise bit) or v9 field type. */
  readonly id: number
  /** Octets in each record; 65535 = variable length (IPFIX only); 0 = absent (some v9 exporters). */
  readonly length: number
  /**
   * 0 for IANA elements; the private enterprise number for enterprise-specific elements (their
   * values are skipped, never read as IANA elements); -1 for v9 options scope fields (scope types,
   * not elements).
   */
  readonly enterprise: number
}

/** A (data or options) template as the exporter defined it. */
export interface Template {
  readonly id: number
  /** Observation domain id (IPFIX) or source id (v9). */
  readonly domain: number
  readonly fields: readonly TemplateField[]
  /** True for options templates (v9 FlowSet 1, IPFIX Set 3): their data records are not flows. */
  readonly options: boolean
  /** Fewest octets one record can take: fixed lengths plus 1 per variable-length field. */
  readonly minRecordLength: number
  /** A reason (`bad-field-length`) when the record layout is valid but an element's length makes no sense. */
  readonly invalid?: string
}

/** The header values a held data set needs to be decoded later. */
export interface HeaderContext {
  readonly version: 9 | 10
  /** Export time of the datagram, ms since the epoch. */
  readonly exportMs: number
  /** v9 only: sysUptime in ms at export. */
  readonly sysUptimeMs?: number
  readonly domain: number
  /**
   * The header's sequence number: v9 `package sequence` (datagrams sent, RFC 3954 §5.1), IPFIX
   * `sequence number` (data records sent before this message, RFC 7011 §3.1); modulo 2^32.
   */
  readonly sequence: number
  /** Datagram index (0-based) in the file or collector session. */
  readonly record: number
  readonly file: string
}

/** A data set held until its template arrives. `body` is a private copy of the set's records. */
export interface PendingSet {
  readonly templateId: number
  readonly body: Uint8Array
  readonly header: HeaderContext
}

/** Memory bounds, see the module comment. */
export interface TemplateLimits {
  readonly maxExporters: number
  readonly maxTemplatesPerExporter: number
  readonly maxTemplateFieldsPerExporter: number
  readonly maxTemplateFieldsTotal: number
  readonly maxPendingSetsPerExporter: number
  readonly maxPendingBytesPerExporter: number
  readonly maxPendingBytesTotal: number
}

/**
 * Default bounds: 1024 exporters; per exporter 4096 templates of at most 65 536 fields and 64 held
 * sets (≤ 1 MiB); overall 1 Mi template fields and 16 MiB held.
 */
export const DEFAULT_LIMITS: TemplateLimits = {
  maxExporters: 1024,
  maxTemplatesPerExporter: 4096,
  maxTemplateFieldsPerExporter: 1 << 16,
  maxTemplateFieldsTotal: 1 << 20,
  maxPendingSetsPerExporter: 64,
  maxPendingBytesPerExporter: 1 << 20,
  maxPendingBytesTotal: 16 << 20,
}

interface ExporterState {
  /** key `${domain}/${templateId}`, in definition order (oldest first). */
  readonly templates: Map<string, Template>
  /** Field specifiers in `templates`. */
  fields: number
  pending: PendingSet[]
  pendingBytes: number
  /** IPFIX systemInitTimeMilliseconds learned from options data, by domain. */
  readonly systemInit: Map<number, number>
  /** Sampling rates (1 in N) learned from options data, key `${domain}/${scope}` ({@link TemplateCache.setSampling}). */
  readonly sampling: Map<string, number>
  /**
   * Keys of templates withdrawn (IPFIX, RFC 7011 §8.1) and not defined again since: data for
   * them was laid out for a definition that is gone, so it is not held for the next one
   * ({@link TemplateCache.isWithdrawn}). At most `maxTemplatesPerExporter` keys.
   */
  readonly withdrawn: Set<string>
}

/** Most domains per exporter whose systemInitTimeMilliseconds is remembered. */
const MAX_DOMAINS_WITH_INIT_TIME = 256

const tkey = (domain: number, id: number): string => `${domain}/${id}`

/**
 * v9: how far two boot times (`unix_secs` − `sysUptime`) of one exporter process may differ, ms
 * (whole seconds against milliseconds).
 */
export const BOOT_SLACK_MS = 2000

/**
 * v9: and how much more per ms between the two datagrams — an uptime clock drifts against a wall
 * clock that NTP steers (0.24 % seen on a router), 0.5 %.
 */
export const BOOT_DRIFT = 0.005

/**
 * The cache itself. Not thread-safe (Node is single-threaded); one instance per decoder.
 * Every method is O(1) amortised except {@link TemplateCache.takePending} (linear in held sets,
 * at most `maxPendingSetsPerExporter`).
 */
export class TemplateCache {
  readonly limits: TemplateLimits
  private readonly exporters = new Map<string, ExporterState>()
  private pendingTotal = 0
  private fieldsTotal = 0
  /** Counts of evictions, for notes: exporters, templates, held sets. */
  readonly evicted = { exporters: 0, templates: 0, pendingSets: 0 }

  constructor(limits: Partial<TemplateLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits }
  }

  private state(exporter: string): ExporterState {
    let s = this.exporters.get(exporter)
    if (s) {
      // LRU: move to the end
      this.exporters.delete(exporter)
      this.exporters.set(exporter, s)
      return s
    }
    s = {
      templates: new Map(),
      fields: 0,
      pending: [],
      pendingBytes: 0,
      systemInit: new Map(),
      sampling: new Map(),
      withdrawn: new Set(),
    }
    this.exporters.set(exporter, s)
    while (this.exporters.size > this.limits.maxExporters) this.evictOldestExporter()
    return s
  }

  /** Drops the least recently used exporter with its templates and held sets. */
  private evictOldestExporter(): void {
    const oldest = this.exporters.keys().next().value as string
    const gone = this.exporters.get(oldest)
    if (gone) {
      this.pendingTotal -= gone.pendingBytes
      this.fieldsTotal -= gone.fields
      this.evicted.pendingSets += gone.pending.length
    }
    this.exporters.delete(oldest)
    this.evicted.exporters++
  }

  /** Removes a template by key, keeping the field counts. */
  private remove(s: ExporterState, key: string): boolean {
    const t = s.templates.get(key)
    if (!t) return false
    s.templates.delete(key)
    s.fields -= t.fields.length
    this.fieldsTotal -= t.fields.length
    return true
  }

  /** The template, or undefined. */
  get(exporter: string, domain: number, id: number): Template | undefined {
    return this.state(exporter).templates.get(tkey(domain, id))
  }

  /** Defines or redefines (template id reuse: the new one replaces the old) a template. */
  put(exporter: string, t: Template): void {
    const s = this.state(exporter)
    const k = tkey(t.domain, t.id)
    this.remove(s, k)
    s.withdrawn.delete(k)
    s.templates.set(k, t)
    s.fields += t.fields.length
    this.fieldsTotal += t.fields.length
    const lim = this.limits
    while (
      s.templates.size > 1 &&
      (s.templates.size > lim.maxTemplatesPerExporter ||
        s.fields > lim.maxTemplateFieldsPerExporter)
    ) {
      this.remove(s, s.templates.keys().next().value as string)
      this.evicted.templates++
    }
    // other exporters first: `s` is the most recently used, last in LRU order
    while (this.fieldsTotal > lim.maxTemplateFieldsTotal && this.exporters.size > 1)
      this.evictOldestExporter()
  }

  /**
   * Removes one template (IPFIX withdrawal, RFC 7011 §8.1), remembered as withdrawn until it is
   * defined again. Returns whether it existed.
   */
  withdraw(exporter: string, domain: number, id: number): boolean {
    const s = this.state(exporter)
    this.markWithdrawn(s, tkey(domain, id))
    return this.remove(s, tkey(domain, id))
  }

  /**
   * Removes every (options or data) template of a domain (IPFIX "all templates" withdrawal), each
   * remembered as withdrawn (as {@link withdraw}); `restart` (a v9 exporter that restarted) forgets
   * them without: its new process may define any id anew, and its data may come first.
   */
  withdrawAll(exporter: string, domain: number, options: boolean, restart = false): number {
    const s = this.state(exporter)
    let n = 0
    for (const [k, t] of s.templates) {
      if (t.domain === domain && t.options === options && this.remove(s, k)) {
        if (!restart) this.markWithdrawn(s, k)
        n++
      }
    }
    return n
  }

  private markWithdrawn(s: ExporterState, key: string): void {
    if (s.withdrawn.size >= this.limits.maxTemplatesPerExporter) s.withdrawn.clear()
    s.withdrawn.add(key)
  }

  /** Whether a template was withdrawn and not defined again since ({@link withdraw}). */
  isWithdrawn(exporter: string, domain: number, id: number): boolean {
    return this.exporters.get(exporter)?.withdrawn.has(tkey(domain, id)) ?? false
  }

  /** Number of templates held for an exporter (0 when unknown). Does not touch LRU order. */
  templateCount(exporter: string): number {
    return this.exporters.get(exporter)?.templates.size ?? 0
  }

  /** Field specifiers in an exporter's templates (0 when unknown), and across exporters. */
  templateFields(exporter?: string): number {
    if (exporter === undefined) return this.fieldsTotal
    return this.exporters.get(exporter)?.fields ?? 0
  }

  /** Number of exporters with state. */
  get exporterCount(): number {
    return this.exporters.size
  }

  /** Total octets of held data sets across exporters. */
  get pendingBytesTotal(): number {
    return this.pendingTotal
  }

  /**
   * Holds a data set until its template arrives. Returns the held sets dropped to stay within
   * bounds (possibly `set` itself when it alone exceeds them); the caller counts them `no-template`.
   */
  hold(exporter: string, set: PendingSet): PendingSet[] {
    const s = this.state(exporter)
    const size = set.body.byteLength
    const lim = this.limits
    if (size > lim.maxPendingBytesPerExporter || size > lim.maxPendingBytesTotal) return [set]
    const dropped: PendingSet[] = []
    s.pending.push(set)
    s.pendingBytes += size
    this.pendingTotal += size
    while (
      s.pending.length > 0 &&
      (s.pending.length > lim.maxPendingSetsPerExporter ||
        s.pendingBytes > lim.maxPendingBytesPerExporter ||
        this.pendingTotal > lim.maxPendingBytesTotal)
    ) {
      const old = s.pending.shift()
      if (!old) break
      s.pendingBytes -= old.body.byteLength
      this.pendingTotal -= old.body.byteLength
      dropped.push(old)
    }
    return dropped
  }

  /** Removes and returns, oldest first, the held sets for a template (every template: `id` undefined). */
  takePending(exporter: string, domain: number, id: number | undefined): PendingSet[] {
    const s = this.state(exporter)
    if (s.pending.length === 0) return []
    const take: PendingSet[] = []
    const keep: PendingSet[] = []
    for (const p of s.pending)
      ((id === undefined || p.templateId === id) && p.header.domain === domain ? take : keep).push(
        p,
      )
    if (take.length === 0) return take
    s.pending = keep
    for (const p of take) {
      s.pendingBytes -= p.body.byteLength
      this.pendingTotal -= p.body.byteLength
    }
    return take
  }

  /** Removes and returns every held set of every exporter (end of input). */
  drainPending(): PendingSet[] {
    const all: PendingSet[] = []
    for (const s of this.exporters.values()) {
      all.push(...s.pending)
      s.pending = []
      s.pendingBytes = 0
    }
    this.pendingTotal = 0
    return all
  }

  /** Held sets of an exporter (for tests and stats). */
  pendingCount(exporter: string): number {
    return this.exporters.get(exporter)?.pending.length ?? 0
  }

  /** Records an IPFIX systemInitTimeMilliseconds for a domain (from options data). */
  setSystemInit(exporter: string, domain: number, ms: number): void {
    const m = this.state(exporter).systemInit
    if (!m.has(domain) && m.size >= MAX_DOMAINS_WITH_INIT_TIME) m.clear()
    m.set(domain, ms)
  }

  /** The last systemInitTimeMilliseconds seen for a domain, if any. */
  systemInit(exporter: string, domain: number): number | undefined {
    return this.state(exporter).systemInit.get(domain)
  }

  /**
   * Records a rate (1 packet in `rate`) for a domain from options data; `scope` says what it
   * applies to: `s<id>` a sampler (samplerId / selectorId), `i<ifIndex>` an interface (v9 scope
   * Interface, IPFIX ingressInterface), `-1` the whole exporter (the options record names
   * neither).
   */
  setSampling(exporter: string, domain: number, scope: string, rate: number): void {
    const m = this.state(exporter).sampling
    const key = `${domain}/${scope}`
    if (!m.has(key) && m.size >= MAX_DOMAINS_WITH_INIT_TIME) m.clear()
    m.set(key, rate)
  }

  /**
   * The sampling rates an exporter's options data announced (see {@link TemplateCache.setSampling};
   * read them with {@link samplingFor}), or undefined when it announced none. Does not count as a
   * use of the exporter (no LRU move): the decoder asks once per data set, after `get`.
   */
  samplingRates(exporter: string): ReadonlyMap<string, number> | undefined {
    const m = this.exporters.get(exporter)?.sampling
    return m === undefined || m.size === 0 ? undefined : m
  }
}

/**
 * The sampling rate that applies to a data record of `domain` among an exporter's announced
 * `rates` ({@link TemplateCache.samplingRates}): its sampler's (`sampler`, the record's samplerId
 * / selectorId), else its interface's (`ifIndex`, the record's ingressInterface) when rates were
 * announced per interface, else the rate an options record gave for the whole exporter, else the
 * domain's only sampler rate (an interface's too when the record names no interface); undefined
 * when none applies: a record of an interface that no options record named was not sampled
 * (RFC 3954 §6.1's options template is scoped to an interface).
 */
export function samplingFor(
  rates: ReadonlyMap<string, number>,
  domain: number,
  sampler: number | undefined,
  ifIndex: number | undefined,
): number | undefined {
  const own = sampler === undefined ? undefined : rates.get(`${domain}/s${sampler}`)
  if (own !== undefined) return own
  const iface = ifIndex === undefined ? undefined : rates.get(`${domain}/i${ifIndex}`)
  if (iface !== undefined) return iface
  const any = rates.get(`${domain}/-1`)
  if (any !== undefined) return any
  let only: number | undefined
  for (const [k, r] of rates) {
    if (!k.startsWith(`${domain}/s`) && (ifIndex !== undefined || !k.startsWith(`${domain}/i`)))
      continue
    if (only !== undefined) return undefined
    only = r
  }
  return only
}
