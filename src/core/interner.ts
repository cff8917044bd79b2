/**
 * @module Text interning: each distinct string gets a small integer id, so that columns and hash
 * keys hold numbers instead of strings. Pure.
 */

/**
 * Gives each distinct text an integer id and keeps the text of each id.
 *
 * Shape: an array of texts ({@link Interner.texts}, indexed by id) and a `Map` from text to id.
 * Ids are dense from 0 in order of first sight: the first distinct text gets 0, the next 1, and
 * so on, so a new text's id is always {@link Interner.size} before the call, and arrays indexed
 * by id can grow beside the interner (push when `id(text)` returns the old size). Nothing is
 * ever removed: a text keeps its id for the interner's life. Texts are compared as JavaScript
 * strings (`===`): no normalisation.
 *
 * @remarks Used by ingest's string table (addresses and names of one file), the simulator
 * (entities of denied edges), the denied-edge table (example addresses) and the policy index
 * (rule lists, by their comma-joined text).
 */
export class Interner {
  private readonly byText = new Map<string, number>()
  private readonly all: string[] = []

  /** The text of each id, `texts[id]`; grows by one with each new text, never reordered. */
  get texts(): readonly string[] {
    return this.all
  }

  /** How many distinct texts there are: also the id the next new text gets. */
  get size(): number {
    return this.all.length
  }

  /** The id of `text`, giving it the next id ({@link Interner.size}) when it is new. */
  id(text: string): number {
    let id = this.byText.get(text)
    if (id === undefined) {
      id = this.all.length
      this.all.push(text)
      this.byText.set(text, id)
    }
    return id
  }

  /**
   * The text that got `id`: the very string first passed to {@link Interner.id} for it.
   * @throws RangeError when no text has that id (`id` not an integer in [0, size)).
   */
  text(id: number): string {
    const text = this.all[id]
    if (text === undefined) throw new RangeError(`no text has id ${String(id)}`)
    return text
  }
}
