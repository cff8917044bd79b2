/**
 * cutJsonRecords (src/ingest/json-objects.ts): the records of a JSON document cut short, told
 * apart from a broken document. Checked against V8's `JSON.parse` on random documents, cut and
 * broken at random (fixed SEED).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { cutJsonRecords, jsonErrorOffset } from '../../src/ingest/json-objects.js'
import { SEED } from '../helpers/model.js'

/** `{"records": [...]}` of random JSON values, on one line or indented. */
const documents = fc
  .tuple(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), fc.constantFrom(0, 1, 2))
  .map(([records, indent]) => ({ records, text: JSON.stringify({ records }, null, indent) }))

describe('cutJsonRecords', () => {
  it('every beginning of a document gives the records whole before its end', () => {
    fc.assert(
      fc.property(documents, fc.nat(), ({ records, text }, at) => {
        const k = at % text.length
        const cut = cutJsonRecords(text.slice(0, k), 4)
        expect(cut).toBeDefined()
        const got = (cut?.records ?? []).map(
          (r) => JSON.parse(text.slice(r.start, r.end)) as unknown,
        )
        // the records returned are the first ones of the document, each whole
        expect(got).toEqual(records.slice(0, got.length))
        // the whole document is no cut
        expect(cutJsonRecords(text, 4)).toBeUndefined()
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('a record is left out exactly when the cut falls before its end', () => {
    // one-line records of known offsets
    const recs = ['{"a":1}', '{"b":[1,2,{"c":"x,]}"}]}', '"s"', '12.5e-3', 'null', '[true,false]']
    const text = `{"records":[${recs.join(',')}]}`
    let at = '{"records":['.length
    const ends = recs.map((r) => {
      at += r.length + 1
      return at - 1
    })
    for (let k = 1; k < text.length; k++) {
      const cut = cutJsonRecords(text.slice(0, k), 4)
      // a scalar record at the very end may be whole or cut ("12." of "12.5e-3"): not counted
      const want = ends.filter((e, i) => e < k || (e === k && recs[i]?.match(/^[{["n]/))).length
      expect(cut?.records.length, `cut at ${String(k)}`).toBe(want)
    }
  })

  it('agrees with JSON.parse on where broken text breaks: a cut iff V8 fails at the end', () => {
    const breaking = fc.constantFrom(
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '\u0001',
      '-',
      '0',
      '.',
      'e',
      't',
      'x',
    )
    fc.assert(
      fc.property(
        documents,
        fc.nat(),
        breaking,
        fc.boolean(),
        fc.nat(),
        (doc, at, ch, replace, end) => {
          const k = at % doc.text.length
          const broken = doc.text.slice(0, k) + ch + doc.text.slice(k + (replace ? 1 : 0))
          const text = broken.slice(0, end % (broken.length + 1)).trimEnd()
          if (text === '') return
          let offset: number | undefined
          try {
            JSON.parse(text)
            return
          } catch (err) {
            offset = jsonErrorOffset((err as Error).message, text)
          }
          if (offset === undefined) return
          expect(cutJsonRecords(text, 4) !== undefined, JSON.stringify(text.slice(-40))).toBe(
            offset >= text.length,
          )
        },
      ),
      { seed: SEED, numRuns: 3000 },
    )
  })

  it('gives UTF-16 offsets in text that is not ASCII, a cut between the halves of a surrogate pair included', () => {
    // é is 2 bytes, € 3, 😀 a surrogate pair of 4
    const recs = ['{"n":"é"}', '"€😀"', '{"n":"\\u00e9😀x"}', 'true', '{"m":"€"}']
    const text = `{"records":[${recs.join(', ')}]}`
    for (let k = 1; k < text.length; k++) {
      const cut = cutJsonRecords(text.slice(0, k), 4)
      expect(cut, `cut at ${String(k)}`).toBeDefined()
      const got = (cut?.records ?? []).map((r) => text.slice(r.start, r.end))
      expect(got).toEqual(recs.slice(0, got.length))
      // the cut record begins where the next one does
      const next = recs[got.length]
      const at = next === undefined ? -1 : text.indexOf(next)
      if (cut?.cutRecordAt !== undefined) expect(cut.cutRecordAt).toBe(at)
      else expect(at < 0 || at >= k).toBe(true)
    }
  })

  it('reads nested records up to maxNesting deep, and a top-level array', () => {
    const nested = '{"records":[{"x":0},{"records":[{"y":1},{"records":[{"z":2},{"w"'
    expect(cutJsonRecords(nested, 4)?.records.map((r) => r.depth)).toEqual([0, 1, 2])
    // below maxNesting, an element holding records is a record of its own
    expect(cutJsonRecords(nested, 1)?.records.map((r) => r.depth)).toEqual([0, 1])
    expect(cutJsonRecords('[{"a":1},{"a":', 4)).toEqual({
      records: [{ start: 1, end: 8, depth: 0 }],
      cutRecordAt: 9,
    })
    // a single record (no records array) cut: nothing whole
    expect(cutJsonRecords('{"time":"2026","properties":{"flows":[', 4)).toEqual({
      records: [],
      cutRecordAt: undefined,
    })
  })
})
