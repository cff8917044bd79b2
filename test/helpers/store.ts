/**
 * @module Helpers the store tests share: run a function on an open DuckDB flow store (closed
 * afterwards, also when the function throws), and collect an async iterable.
 */
import { openDuckDbStore, type FlowStore } from '../../src/store/index.js'

/** Opens the store at `where` (default a private in-memory store), runs `fn`, closes the store. */
export async function withStore<T>(
  fn: (s: FlowStore) => Promise<T>,
  where = ':memory:',
): Promise<T> {
  const s = await openDuckDbStore(where)
  try {
    return await fn(s)
  } finally {
    await s.close()
  }
}

/** Every item of `it`, in order. */
export async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}
