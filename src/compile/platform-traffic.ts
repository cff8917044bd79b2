/**
 * @module Policy rules that speak of cloud platform addresses a target's firewall never filters
 * (AWS link-local 169.254.0.0/16; Azure's host node addresses 168.63.129.16 and
 * 169.254.169.254): what such a rule says of them is not enforced, and the compile says so
 * (`compile/platform-traffic-unfiltered`).
 */
import {
  formatRuleRef,
  type Cidr,
  type Diagnostic,
  type Inventory,
  type PolicySet,
} from '../core/index.js'

/**
 * The `compile/platform-traffic-unfiltered` warning, when some policy rule has a `cidr`
 * selector or a named external whose block `names` holds (the rules are listed as
 * `policy/rule`); none otherwise.
 * @param names - true for a block that names the platform addresses (e.g. one inside
 *   169.254.0.0/16); a block as wide as `0.0.0.0/0` should not count, or every internet rule
 *   would warn.
 * @param what - the text after the rule list, saying which addresses pass and what to do.
 */
export function platformTrafficWarning(
  policySet: PolicySet,
  inventory: Inventory,
  names: (c: Cidr) => boolean,
  what: string,
): Diagnostic[] {
  const rules = policySet.policies.flatMap((p) =>
    p.rules
      .filter((r) =>
        [...r.from, ...r.to].some(
          (sel) =>
            (sel.kind === 'cidr' && names(sel.cidr)) ||
            (sel.kind === 'external' &&
              inventory.externals.some((x) => x.name === sel.name && names(x.cidr))),
        ),
      )
      .map((r) => formatRuleRef({ policy: p.name, id: r.id })),
  )
  if (rules.length === 0) return []
  return [
    {
      code: 'compile/platform-traffic-unfiltered',
      severity: 'warning',
      message: `${rules.join(', ')}: ${what}`,
    },
  ]
}
