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
 *   2 s plus 100 ppm of the time between the two datagrams (a restart, or another device,
 *   has another boot time);
 * - IPFIX (no uptime in the header): the two export times are at most {@link IPFIX_WINDOW_MS}
 *   apart, and the sequence numbers do not run backwards between them (RFC 7011 §3.1: the
 *   count of data records sent, modulo 2^32).
 * Of several such templates the one exported nearest in time is used. A set without one is
 * `no-template`. Flows decoded so keep their own file and datagram (`source`) and come at the
 * end of their file.
 *
 * IPFIX headers cannot tell two exporters apart that use the same observation domain and
 * template ids within the window: read the files of different IPFIX exporters in separate
 * commands when their data files lack their own templates.
 *
 * Cost: the first file that ends with such a set causes one read of the read's NetFlow files for
 * their templates only (data is skipped); memory is the templates, at most
 * {@link MAX_CATALOG_TEMPLATES}.
 */
import type { Flow } from '../../core/flow.js'
import { noTemplateProblem, NetflowDecoder, type DecodeResult } from './decoder.js'
import type { HeaderContext, PendingSet, Template } from './templates.js'

/** Largest distance between an IPFIX template's export and its data's, 31 days in ms. */
export const IPFIX_WINDOW_MS = 31 * 24 * 3600 * 1000

/** Most templates remembered from the files of one read. */
export const MAX_CATALOG_TEMPLATES = 65536

/**
 * The framed datagrams of a file, or nothing when the file is not NetFlow/IPFIX or cannot be
 * read (its own read reports why). Must not throw.
 */
export type DatagramSource = (file: string) => AsyncIterable<Uint8Array>

/** A template and where it was defined. */
interface Defined {
  readonly template: Template
  /** Index of the defining file in the read. */
  readonly at: number
  readonly header: HeaderContext
}

const key = (version: number, domain: number, id: number): string => `${version}/${domain}/${id}`

/** Whether a template defined under `t` can serve a data set sent under `d` (module comment). */
export function sameExporterProcess(d: HeaderContext, t: HeaderContext): boolean {
  if (d.version !== t.version || d.domain !== t.domain) return false
  const apart = Math.abs(d.exportMs - t.exportMs)
  if (d.version === 9) {
    const boot = (h: HeaderContext): number => h.exportMs - (h.sysUptimeMs ?? 0)
    return Math.abs(boot(d) - boot(t)) <= 2000 + apart / 10_000
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
  private catalog: Map<string, Defined[]> | undefined
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
    const flows: Flow[] = []
    const problems: DecodeResult['problems'] = []
    if (held.length === 0) return { flows, problems }
    const catalog = await this.load()
    for (const p of held) {
      const t = this.find(catalog, p)
      if (t === undefined) {
        problems.push(noTemplateProblem(p))
        continue
      }
      const r = decoder.decodeHeld(t, p, exporter)
      flows.push(...r.flows)
      problems.push(...r.problems)
    }
    return { flows, problems }
  }

  /** The template for a held set from another file, nearest in export time, or undefined. */
  private find(catalog: Map<string, Defined[]>, p: PendingSet): Template | undefined {
    const h = p.header
    let best: Defined | undefined
    for (const d of catalog.get(key(h.version, h.domain, p.templateId)) ?? []) {
      if (d.at === this.cursor || !sameExporterProcess(h, d.header)) continue
      const dist = Math.abs(d.header.exportMs - h.exportMs)
      if (best === undefined || dist < Math.abs(best.header.exportMs - h.exportMs)) best = d
    }
    return best?.template
  }

  /** Reads every file's templates once (data skipped). */
  private async load(): Promise<Map<string, Defined[]>> {
    if (this.catalog !== undefined) return this.catalog
    const catalog = new Map<string, Defined[]>()
    for (let at = 0; at < this.files.length; at++) {
      const file = this.files[at] as string
      const d = new NetflowDecoder(
        {},
        {
          onTemplate: (template, header) => {
            if (this.cataloged >= MAX_CATALOG_TEMPLATES) return
            const k = key(header.version, template.domain, template.id)
            const list = catalog.get(k)
            const entry = { template, at, header }
            if (list) list.push(entry)
            else catalog.set(k, [entry])
            this.cataloged++
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
