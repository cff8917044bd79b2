/**
 * @module Every flow parser, by format name. Each parser module adds itself here.
 */
import type { AnyParser, FlowFormat } from './types.js'

/** All parsers, in detection-priority order (more specific formats first). */
export const PARSERS: readonly AnyParser[] = [
  // parsers register here, one import each
]

/** The parser for a format name, or undefined. */
export function parserFor(format: FlowFormat): AnyParser | undefined {
  return PARSERS.find((p) => p.format === format)
}
