/**
 * @module The workloads a label or workload selector takes, found through an index of labels and
 * names, for stages that resolve selectors to workloads once per selector (the kubernetes, cilium,
 * calico and azure-nsg compilers, compile's port-zero check, recommend's members of a rule side).
 */
import type { LabelSet } from './labels.js'
import type { Selector, Workload } from './model.js'
import { selectorKey, selectorMatches } from './selector.js'

/** A label or workload selector: the kinds that name workloads. */
export type WorkloadSelector = Extract<Selector, { kind: 'labels' | 'workload' }>

/** An address no selector of these kinds looks at: they match on labels and names only. */
const NO_ADDRESS = { family: 4, value: 0n } as const

/**
 * Workloads by `key=value` label and by name. {@link SelectorMembers.of} answers with the
 * reference matcher ({@link selectorMatches}), tested against the workloads of the selector's
 * rarest required label (scope included) or of its name only, so a selector costs the size of its
 * smallest candidate list rather than of the inventory.
 */
export class SelectorMembers {
  private readonly byLabel = new Map<string, Workload[]>()
  private readonly byName = new Map<string, Workload[]>()
  private readonly cache = new Map<string, readonly Workload[]>()

  /** @param workloads - the workloads selectors may take; answers keep this order. */
  constructor(private readonly workloads: readonly Workload[]) {
    for (const w of workloads) {
      for (const [k, v] of Object.entries(w.labels)) push(this.byLabel, `${k}=${v}`, w)
      push(this.byName, w.name, w)
    }
  }

  /**
   * The workloads `sel` takes with its policy's `scope` (ANDed in unless the selector is
   * `global`, DESIGN.md rule 2), in the order given to the constructor; cached per selector and
   * effective scope.
   */
  of(sel: WorkloadSelector, scope: LabelSet): readonly Workload[] {
    const key = JSON.stringify([selectorKey(sel), sel.global ? {} : scope])
    const known = this.cache.get(key)
    if (known) return known
    const out = this.candidates(sel, scope).filter((w) => takes(sel, w, scope))
    this.cache.set(key, out)
    return out
  }

  /**
   * True when `sel` matches some workload with `scope` ({@link SelectorMembers.of} is not empty),
   * found by testing its candidates up to the first it matches; nothing is cached.
   */
  matchesAny(sel: WorkloadSelector, scope: LabelSet): boolean {
    return this.candidates(sel, scope).some((w) => takes(sel, w, scope))
  }

  /** The workloads of `sel`'s name, or of its rarest required label (scope included unless global). */
  private candidates(sel: WorkloadSelector, scope: LabelSet): readonly Workload[] {
    if (sel.kind === 'workload') return this.byName.get(sel.name) ?? []
    let candidates: readonly Workload[] = this.workloads
    for (const [k, v] of Object.entries({ ...(sel.global ? {} : scope), ...sel.match })) {
      const list = this.byLabel.get(`${k}=${v}`) ?? []
      if (list.length < candidates.length) candidates = list
    }
    return candidates
  }
}

/** The reference matcher's answer for a workload (labels and name only: no address involved). */
function takes(sel: WorkloadSelector, w: Workload, scope: LabelSet): boolean {
  return selectorMatches(sel, { ip: NO_ADDRESS, entity: { kind: 'workload', workload: w } }, scope)
}

function push(map: Map<string, Workload[]>, key: string, w: Workload): void {
  const list = map.get(key)
  if (list) list.push(w)
  else map.set(key, [w])
}
