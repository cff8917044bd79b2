/**
 * @module Identities: one per distinct label set (DESIGN.md "identity"), as Cilium derives them.
 */
import { formatLabelSet, type LabelSet } from './labels.js'

/** One distinct label set. `id` is the canonical `k=v,k=v` text of the labels. */
export interface Identity {
  readonly id: string
  readonly labels: LabelSet
}

/** The identity of a label set. Two workloads with equal labels get equal identities. */
export function identityOf(labels: LabelSet): Identity {
  return { id: formatLabelSet(labels), labels }
}
