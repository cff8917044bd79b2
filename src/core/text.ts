/**
 * @module Words for counts in text output: `1 flow`, `2 flows`. One helper for every text
 * renderer, so that no summary says `1 crown jewels`.
 */

/**
 * The noun for `n` things: `one` when `n` is 1, else `many` (default `one` + `s`; give it for
 * irregular plurals: `plural(n, 'entity', 'entities')`). Only the noun: see {@link counted}.
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many
}

/**
 * `n` and its noun: `counted(1, 'crown jewel')` is `1 crown jewel`, `counted(0, 'flow')` `0 flows`.
 * @param shown - how `n` is written, when not as is (`1 234`, `12.5 k`).
 */
export function counted(n: number, one: string, many = `${one}s`, shown = String(n)): string {
  return `${shown} ${plural(n, one, many)}`
}
