/**
 * @module The iptables compiler: the nftables target's host plan ({@link planHosts}: the exact
 * allowed (peer range, protocol, port) per direction, allow minus deny), rendered as an
 * `ipset restore` file and `iptables-restore` / `ip6tables-restore` files per host.
 * @remarks Semantics: DESIGN.md "Policy language v1" rules 1–5, "Enforcement and verification";
 * the plan is shared with nftables so both targets enforce the same verdicts.
 */
import type { Inventory, PolicySet } from '../../core/index.js'
import {
  hostFileName,
  hostSlices,
  planTimeSlices,
  type NftablesOptions,
} from '../nftables/compile.js'
import { assertExpressible, type Artefact, type CompileResult, type Compiler } from '../target.js'
import { IPTABLES_CAPABILITIES } from './capabilities.js'
import {
  iptablesPlan,
  renderApplyScript,
  renderIpset,
  renderRules,
  type IptablesHost,
} from './render.js'

/**
 * The last instant (ms) iptables' time match takes: `--datestart`/`--datestop` stop at
 * 2038-01-19T03:14:07 UTC (2³¹ − 1 s; iptables-extensions(8), time). Later rule expiries and
 * address bounds are warnings, as beyond `--max-time-slices`.
 */
export const IPTABLES_LATEST = (2 ** 31 - 1) * 1000

/**
 * Options of the iptables target: the same as nftables (direction, anti-lockout and its
 * management ranges, monitor timeout in seconds for the would-be-blocked ipsets, most time
 * slices: each slice's rules carry `-m time --datestart/--datestop`).
 */
export type IptablesOptions = NftablesOptions

/** The three file suffixes of a host, in artefact order. Stable. */
export const IPTABLES_SUFFIXES = ['.ipset', '.rules.v4', '.rules.v6', '.apply.sh'] as const

/**
 * The iptables target: per host `<name>.ipset`, `<name>.rules.v4`, `<name>.rules.v6` (name made
 * safe as for nftables) and `<name>.apply.sh`, which applies them in that order (`ipset restore
 * -file`, `iptables-restore --noflush`, `ip6tables-restore --noflush`) and hooks Bulkhead's
 * chains into `INPUT` and `OUTPUT` once. Only Bulkhead's chains and sets are replaced; the rest of
 * the `filter` table stays as it is.
 * @throws BulkheadError `compile/unknown-host` for a name in `options.hosts` no workload has.
 * @throws UnsupportedByTargetError never (every capability is declared).
 */
export const iptablesCompiler: Compiler<IptablesOptions> = {
  target: 'iptables',
  capabilities: IPTABLES_CAPABILITIES,
  compile(inventory: Inventory, policySet: PolicySet, options: IptablesOptions): CompileResult {
    assertExpressible('iptables', IPTABLES_CAPABILITIES, inventory, policySet, options.now)
    const { slices, slicing, diagnostics } = planTimeSlices(
      inventory,
      policySet,
      options,
      IPTABLES_LATEST,
    )
    const used = new Set<string>()
    const artefacts: Artefact[] = []
    const first = slices[0]?.plans ?? []
    for (const [h, plan] of first.entries()) {
      let base = hostFileName(plan.host).slice(0, -'.nft'.length)
      for (let n = 2; used.has(base); n++)
        base = hostFileName(`${plan.host}~${n}`).slice(0, -'.nft'.length)
      used.add(base)
      const own = hostSlices(slices, h)
      const ip: IptablesHost =
        own.length === 1
          ? iptablesPlan(plan)
          : own.map((s, i) => ({ start: s.start, ip: iptablesPlan(s.plan, `-t${i}`) }))
      const meta = { host: plan.host, mode: plan.mode }
      artefacts.push(
        { path: `${base}.ipset`, content: renderIpset(ip), ...meta },
        { path: `${base}.rules.v4`, content: renderRules(ip, 4), ...meta },
        { path: `${base}.rules.v6`, content: renderRules(ip, 6), ...meta },
        { path: `${base}.apply.sh`, content: renderApplyScript(base, ip), ...meta },
      )
      options.onProgress?.(h + 1, first.length)
    }
    return { artefacts, diagnostics, timeSlicing: slicing }
  },
}
