/**
 * @module CidrTrie: longest-prefix match over IPv4 and IPv6 blocks (a binary trie per family).
 */
import { familyBits, type Cidr, type IpAddress, type IpFamily } from './ip.js'

interface Node<T> {
  zero?: Node<T>
  one?: Node<T>
  entry?: { cidr: Cidr; value: T }
}

/** The 32-bit words of an address value, most significant first (1 word for IPv4, 4 for IPv6). */
function words(family: IpFamily, value: bigint): number[] {
  if (family === 4) return [Number(value)]
  return [
    Number((value >> 96n) & 0xffffffffn),
    Number((value >> 64n) & 0xffffffffn),
    Number((value >> 32n) & 0xffffffffn),
    Number(value & 0xffffffffn),
  ]
}

function bit(w: readonly number[], i: number): number {
  return ((w[i >>> 5] as number) >>> (31 - (i & 31))) & 1
}

/**
 * A map from CIDR blocks to values with longest-prefix lookup. Lookup cost is at most 32 (IPv4)
 * or 128 (IPv6) steps, whatever the number of blocks. Inserting a block that is already present
 * replaces its value.
 */
export class CidrTrie<T> {
  private readonly roots: Record<IpFamily, Node<T>> = { 4: {}, 6: {} }
  private count = 0

  /** Number of blocks stored. */
  get size(): number {
    return this.count
  }

  /** Stores `value` for `cidr`, replacing any value stored for the same block. */
  set(cidr: Cidr, value: T): void {
    const w = words(cidr.family, cidr.base)
    let node = this.roots[cidr.family]
    for (let i = 0; i < cidr.prefix; i++) {
      const b = bit(w, i)
      const next = b === 0 ? node.zero : node.one
      if (next) node = next
      else {
        const created: Node<T> = {}
        if (b === 0) node.zero = created
        else node.one = created
        node = created
      }
    }
    if (!node.entry) this.count++
    node.entry = { cidr, value }
  }

  /** The value stored for exactly this block, if any. */
  get(cidr: Cidr): T | undefined {
    const w = words(cidr.family, cidr.base)
    let node: Node<T> | undefined = this.roots[cidr.family]
    for (let i = 0; i < cidr.prefix && node; i++) node = bit(w, i) === 0 ? node.zero : node.one
    return node?.entry?.value
  }

  /** The most specific block containing `ip`, with its value; undefined when none does. */
  lookup(ip: IpAddress): { readonly cidr: Cidr; readonly value: T } | undefined {
    const w = words(ip.family, ip.value)
    const bits = familyBits(ip.family)
    let node: Node<T> | undefined = this.roots[ip.family]
    let best = node.entry
    for (let i = 0; i < bits && node; i++) {
      node = bit(w, i) === 0 ? node.zero : node.one
      if (node?.entry) best = node.entry
    }
    return best
  }

  /** Every block containing `ip`, least specific first. */
  lookupAll(ip: IpAddress): { readonly cidr: Cidr; readonly value: T }[] {
    const w = words(ip.family, ip.value)
    const bits = familyBits(ip.family)
    const out: { cidr: Cidr; value: T }[] = []
    let node: Node<T> | undefined = this.roots[ip.family]
    if (node.entry) out.push(node.entry)
    for (let i = 0; i < bits && node; i++) {
      node = bit(w, i) === 0 ? node.zero : node.one
      if (node?.entry) out.push(node.entry)
    }
    return out
  }

  /** Every stored block and value, in no particular order. */
  *entries(): IterableIterator<{ readonly cidr: Cidr; readonly value: T }> {
    const stack: Node<T>[] = [this.roots[4], this.roots[6]]
    while (stack.length > 0) {
      const n = stack.pop() as Node<T>
      if (n.entry) yield n.entry
      if (n.zero) stack.push(n.zero)
      if (n.one) stack.push(n.one)
    }
  }
}
