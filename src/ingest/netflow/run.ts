/**
 * @module NetFlow v9 / IPFIX templates across the files of one read (one command).
 *
 * A capture is often split into files, and template datagrams are often kept apart from data
 * (`…_tpl.dat`, `…_data.dat`), in either order. Each file is decoded on its own first, with its
 * own templates (a data set waits for a template later in its file). A data set still without a
 * template when its file ends is then decoded with a template from another file of the read —
 * earlier or later — when that template is for the same (version, source id / observation
 * domain, template id) and was sent by the same exporter process, as far as the headers tell:
 * - NetFlow v9: the exporter's boot time (`unix_secs` − `sysUptime`) is the same within
 *   {@link BOOT_SLACK_MS} plus {@link BOOT_DRIFT} of the time between the two datagrams (a
 *   restart, or another device, has another boot time);
 * - IPFIX (no uptime in the header): the two export times are at most {@link IPFIX_WINDOW_MS}
 *   apart, and the sequence numbers do not run backwards between them (RFC 7011 §3.1: the
 *   count of data records sent, modulo 2^32).
 * Of several such templates the one exported nearest in time is used, and for IPFIX, when the
 * file itself gave none, the system init time (options data) of the same exporter process
 * nearest in time. A set without a template is `no-template`. Flows decoded so keep their own
 * file and datagram (`source`) and come at the end of their file.
 *
 * IPFIX headers cannot tell two exporters apart that use the same observation domain and
 * template ids within the window: read the files of different IPFIX exporters in separate
 * commands when their data files lack their own templates.
 *
 * Cost: the first file that ends with such a set causes one read of the read's NetFlow files for
 * their templates and options data only (data is skipped); memory is what they teach, at most
 * {@link MAX_CATALOG_ENTRIES} templates and init times.
 */
import { noTemplateProblem, NetflowDecoder, type DecodeResult } from './decoder.js'
import { BOOT_DRIFT, BOOT_SLACK_MS, type HeaderContext, type Template } from './templates.js'

export { BOOT_DRIFT, BOOT_SLACK_MS }

/** Largest distance between an IPFIX template's export and its data's, 31 days in ms. */
export const IPFIX_WINDOW_MS = 31 * 24 * 3600 * 1000

/** Most templates and system init times remembered from the files of one read. */
export const MAX_CATALOG_ENTRIES = 65536

/**
 * The framed datagrams of a file, or nothing when the file is not NetFlow/IPFIX or cannot be
 * read (its own read reports why). Must not throw.
 */
export type DatagramSource = (file: string) => AsyncIterable<Uint8Array>

/** Something learned from a file's datagram (a template, a system init time) and where. */
interface Learned<T> {
  readonly value: T
  /** Index of the file in the read. */
  readonly at: number
  readonly header: HeaderContext
}

/** What the files of a read taught, by `version/domain/template id` and by `version/domain`. */
interface Catalog {
  readonly templates: Map<string, Learned<Template>[]>
  readonly inits: Map<string, Learned<number>[]>
}

/** Whether a template defined under `t` can serve a data set sent under `d` (module comment). */
export function sameExporterProcess(d: HeaderContext, t: HeaderContext): boolean {
  if (d.version !== t.version || d.domain !== t.domain) return false
  const apart = Math.abs(d.exportMs - t.exportMs)
  if (d.version === 9) {
    const boot = (h: HeaderContext): number => h.exportMs - (h.sysUptimeMs ?? 0)
    return Math.abs(boot(d) - boot(t)) <= BOOT_SLACK_MS + apart * BOOT_DRIFT
  }
  if (apart > IPFIX_WINDOW_MS) return false
  if (apart === 0) return true
  const [first, second] = t.exportMs < d.exportMs ? [t, d] : [d, t]
  return (second.sequence - first.sequence) >>> 0 < 2 ** 31
}

/**
 * The template state of one read over `files` (in order). The reader calls {@link enter} as each
 * file starts, decodes each NetFlow/IPFIX file with a decoder of its own, and hands that decoder
 * to {@link endFile} when the file ends.
 */
export class NetflowRun {
  private cursor = -1
  private catalog: Catalog | undefined
  private cataloged = 0

  /**
   * @param files - every file of the read, in reading order (other formats included).
   * @param source - how to read a file's datagrams again (for the catalog).
   */
  constructor(
    readonly files: readonly string[],
    private readonly source: DatagramSource,
  ) {}

  /** Marks `file` as the one being read: its next occurrence in `files` after the current one. */
  enter(file: string): void {
    const at = this.files.indexOf(file, this.cursor + 1)
    this.cursor = at >= 0 ? at : this.files.length
  }

  /**
   * Ends the current file: the data sets `decoder` still holds are decoded with templates of the
   * other files where the module comment allows, the others are `no-template`. Returns their
   * flows and problems (all of the current file).
   */
  async endFile(decoder: NetflowDecoder, exporter: string): Promise<DecodeResult> {
    const held = decoder.cache.drainPending()
    const out: DecodeResult = { flows: [], problems: [], events: new Map(), halves: new Map() }
    if (held.length === 0) return out
    const catalog = await this.load()
    for (const p of held) {
      const h = p.header
      const t = this.nearest(catalog.templates.get(`${h.version}/${h.domain}/${p.templateId}`), h)
      if (t === undefined) {
        out.problems.push(noTemplateProblem(p))
        continue
      }
      // IPFIX: the exporter's system init time may have come in another file's options data too
      const init = this.nearest(catalog.inits.get(`${h.version}/${h.domain}`), h)
      const r = decoder.decodeHeld(t, p, exporter, init)
      out.flows.push(...r.flows)
      out.problems.push(...r.problems)
      for (const [f, e] of r.events) out.events.set(f, e)
      for (const [f, h] of r.halves) out.halves.set(f, h)
    }
    return out
  }

  /** Of what other files taught, what the same exporter process sent nearest in time to `h`. */
  private nearest<T>(list: readonly Learned<T>[] | undefined, h: HeaderContext): T | undefined {
    let best: Learned<T> | undefined
    for (const d of list ?? []) {
      if (d.at === this.cursor || !sameExporterProcess(h, d.header)) continue
      const dist = Math.abs(d.header.exportMs - h.exportMs)
      if (best === undefined || dist < Math.abs(best.header.exportMs - h.exportMs)) best = d
    }
    return best?.value
  }

  /** Reads every file's templates and options data once (data skipped). */
  private async load(): Promise<Catalog> {
    if (this.catalog !== undefined) return this.catalog
    const catalog: Catalog = { templates: new Map(), inits: new Map() }
    const add = <T>(m: Map<string, Learned<T>[]>, k: string, entry: Learned<T>): void => {
      if (this.cataloged >= MAX_CATALOG_ENTRIES) return
      const list = m.get(k)
      if (list) list.push(entry)
      else m.set(k, [entry])
      this.cataloged++
    }
    for (let at = 0; at < this.files.length; at++) {
      const file = this.files[at] as string
      const d = new NetflowDecoder(
        {},
        {
          onTemplate: (template, header) => {
            const k = `${header.version}/${template.domain}/${template.id}`
            add(catalog.templates, k, { value: template, at, header })
          },
          onSystemInit: (ms, header) => {
            add(catalog.inits, `${header.version}/${header.domain}`, { value: ms, at, header })
          },
        },
      )
      let record = 0
      for await (const dg of this.source(file)) {
        d.learnTemplates(dg, { exporter: file, file, record: record++ })
      }
    }
    this.catalog = catalog
    return catalog
  }
}
