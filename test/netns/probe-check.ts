/**
 * @module The target-independent half of a kernel verification phase: probe every (source,
 * destination, service) pair of an estate and compare what connected, and what the listeners
 * saw arrive, with the reference verdicts. Each target's test then checks its own
 * would-be-blocked sets against {@link monitoredExpectations}.
 */
import { describe, expect, it } from 'vitest'
import type { PolicySet } from '../../src/core/index.js'
import { reapplyEstate, type Estate, type Probe } from './estate.js'
import { tcpExtCounter, type Lab, type ProbeTarget } from './harness.js'

/**
 * First-try probe timeout; expected connections that miss it are retried twice with
 * RETRY_TIMEOUT_MS (a loaded 2-core machine can starve the probe's event loop). "Must not
 * connect" is also checked on the listener side, which does not depend on timing.
 */
export const PROBE_TIMEOUT_MS = 1000
export const RETRY_TIMEOUT_MS = 4000

/** Runs every probe, all sources at once; returns the connected flag per probe, in order. */
export async function runProbes(
  lab: Lab,
  probes: readonly Probe[],
  timeoutMs: number,
): Promise<boolean[]> {
  const bySrc = new Map<string, number[]>()
  probes.forEach((p, i) => bySrc.set(p.src, [...(bySrc.get(p.src) ?? []), i]))
  const out: boolean[] = new Array<boolean>(probes.length).fill(false)
  await Promise.all(
    [...bySrc].map(async ([src, idx]) => {
      const r = await lab.probe(
        src,
        idx.map((i) => probes[i] as Probe),
        timeoutMs,
      )
      idx.forEach((i, j) => (out[i] = r[j] === true))
    }),
  )
  return out
}

/**
 * Probes everything (the rulesets already applied) and asserts, probe by probe, that it
 * connected, and that the listener saw it arrive, exactly when the reference outcome is not
 * `blocked` (allowed, or neither side enforces). Expected connections that fail are retried
 * twice with a longer timeout, since a loaded machine can be slow to complete them; a denied
 * connection is never retried. Counts outcomes into `seen`.
 */
export async function checkConnections(
  lab: Lab,
  probes: readonly Probe[],
  seen: Record<string, number>,
): Promise<void> {
  lab.takeReceived()
  const expected = probes.map(
    (p) => p.allowed || (p.srcMode !== 'enforce' && p.dstMode !== 'enforce'),
  )
  const got = await runProbes(lab, probes, PROBE_TIMEOUT_MS)
  for (let round = 0; round < 2; round++) {
    const slow = probes.flatMap((_, i) => (expected[i] === true && !got[i] ? [i] : []))
    if (slow.length === 0) break
    const again = await runProbes(
      lab,
      slow.map((i) => probes[i] as Probe),
      RETRY_TIMEOUT_MS,
    )
    slow.forEach((i, j) => (got[i] = again[j] === true))
  }
  await new Promise((r) => setTimeout(r, 200))
  const received = new Set(lab.takeReceived().map((x) => `${x.proto} ${x.src} ${x.dst} ${x.port}`))
  const wrong: string[] = []
  probes.forEach((p, i) => {
    expect(expected[i]).toBe(p.outcome !== 'blocked')
    const outcomeKey = `${p.allowed ? 'allowed' : 'denied'}-${p.outcome}`
    seen[outcomeKey] = (seen[outcomeKey] ?? 0) + 1
    if (p.denyOverAllow) seen['deny-over-allow'] = (seen['deny-over-allow'] ?? 0) + 1
    const arrived = received.has(`${p.proto} ${p.srcIp} ${p.dst} ${p.port}`)
    if (got[i] !== expected[i] || arrived !== expected[i]) {
      wrong.push(
        `${p.srcIp} (${p.srcMode}) -> ${p.dst} (${p.dstMode}) ${p.proto}/${p.port}: ` +
          `model ${p.allowed ? 'allows' : 'denies'}, expected ${expected[i] === true ? '' : 'no '}connection; ` +
          `connected ${got[i]}, listener saw it ${arrived}`,
      )
    }
  })
  expect(wrong).toEqual([])
}

/** What one monitored host must have recorded as would-be-blocked, by direction. */
export interface MonitoredExpectation {
  readonly host: string
  /** Denied flows that reached the host (their source does not enforce). */
  readonly ingress: readonly Probe[]
  /** Denied flows the host sent. */
  readonly egress: readonly Probe[]
}

/** The would-be-blocked flows each host in `monitor` mode must record (reference verdicts). */
export function monitoredExpectations(
  estate: Estate,
  probes: readonly Probe[],
): MonitoredExpectation[] {
  const out: MonitoredExpectation[] = []
  for (const h of estate.hosts) {
    const mode =
      probes.find((p) => p.src === h.name)?.srcMode ??
      probes.find((p) => p.dstHost === h.name)?.dstMode
    if (mode !== 'monitor') continue
    out.push({
      host: h.name,
      ingress: probes.filter((p) => !p.allowed && p.dstHost === h.name && p.srcMode !== 'enforce'),
      egress: probes.filter((p) => !p.allowed && p.src === h.name),
    })
  }
  return out
}

/**
 * A kernel suite: runs `body` when the machine has what it needs (`support`); otherwise skips it
 * with the reason in its title, except under `BULKHEAD_REQUIRE_NETNS=1` (CI), where a missing
 * capability is one failing test instead.
 */
export function describeKernel(
  title: string,
  support: { ok: true } | { ok: false; reason: string },
  body: () => void,
): void {
  if (!support.ok && process.env.BULKHEAD_REQUIRE_NETNS === '1') {
    const reason = support.reason
    describe(title, () => {
      it('has what the kernel tests need (BULKHEAD_REQUIRE_NETNS=1)', () => {
        expect.fail(`kernel tests required but unavailable: ${reason}`)
      })
    })
    return
  }
  describe.skipIf(!support.ok)(`${title}${support.ok ? '' : ` — skipped: ${support.reason}`}`, body)
}

/**
 * The atomic-replacement check: host `src` runs a probe loop of 80 connections to `target` while
 * `reapply(i)` loads the ruleset again and again (i = 0, 1, …; at most 40 times in 4 s). Every
 * connection must succeed, and no SYN may be dropped: a dropped SYN is retransmitted after 1 s and
 * the connection still succeeds, so the kernel's TCPSynRetrans counter is the sensitive check.
 * That counter also moves on a busy machine for reasons of its own (accept queue, timers), and on
 * a busy machine a slow re-apply may fit only a few times into the probe loop, so an attempt with
 * a retransmit or with 3 re-applies or fewer is made again, up to 3 attempts, each after too few
 * re-applies with a probe loop 3 times as long and 4 s more to re-apply in (a machine loaded by
 * other work is slow at both): a non-atomic replacement drops SYNs in every attempt, and every
 * attempt must lose no connection.
 * @returns how many times the last attempt re-applied (more than 3, checked).
 */
export async function checkReapplyUnderLoad(
  lab: Lab,
  src: string,
  target: ProbeTarget,
  reapply: (i: number) => Promise<unknown>,
  label: string,
): Promise<number> {
  let applies = 0
  let rounds = 80
  let window = 4000
  const attempt = async (): Promise<{ failures: number; synRetrans: number }> => {
    const synRetransBefore = await tcpExtCounter(lab, src, 'TCPSynRetrans')
    const loop = lab.probeLoop(src, [target], rounds, 5000, 5)
    applies = 0
    const deadline = Date.now() + window
    const state = { done: false }
    void loop.finally(() => (state.done = true))
    while (!state.done && applies < 40 && Date.now() < deadline) {
      await reapply(applies)
      applies++
    }
    const [failures = -1] = await loop
    const synRetrans = (await tcpExtCounter(lab, src, 'TCPSynRetrans')) - synRetransBefore
    return { failures, synRetrans }
  }
  let result = await attempt()
  expect(result.failures).toBe(0)
  for (let tries = 1; tries < 3 && (result.synRetrans > 0 || applies <= 3); tries++) {
    process.stderr.write(
      `[${label}] attempt ${tries}: ${result.synRetrans} SYN retransmit(s), ${applies} re-applies during the probe loop; trying again\n`,
    )
    if (applies <= 3) {
      rounds *= 3
      window += 4000
    }
    result = await attempt()
    expect(result.failures).toBe(0)
  }
  expect(result.synRetrans).toBe(0)
  expect(applies).toBeGreaterThan(3)
  return applies
}

/**
 * The version switch of the atomic-replacement tests, on {@link reapplyEstate}'s hosts (listening
 * on TCP 80 and 443): `apply` loads version `[80]`, and a → b:443 must be refused; then versions
 * `[80, 443]` and `[80]` are applied alternately under {@link checkReapplyUnderLoad} (probes
 * a → b:80, `label` in its log); after that, a → b:443 connects exactly when the last version
 * applied was `[80, 443]`.
 * @returns the last version applied.
 */
export async function checkVersionSwitch(
  lab: Lab,
  apply: (policySet: PolicySet) => Promise<unknown>,
  label: string,
): Promise<PolicySet> {
  const v1 = reapplyEstate.version([80])
  const v2 = reapplyEstate.version([80, 443])
  await apply(v1)
  expect(await lab.probe('a', [{ dst: '10.77.0.2', proto: 'tcp', port: 443 }], 1000)).toEqual([
    false,
  ])
  const applies = await checkReapplyUnderLoad(
    lab,
    'a',
    { dst: '10.77.0.2', proto: 'tcp', port: 80 },
    (i) => apply(i % 2 === 0 ? v2 : v1),
    label,
  )
  // the last applied version is in force
  const last = applies % 2 === 1 ? v2 : v1
  expect(await lab.probe('a', [{ dst: '10.77.0.2', proto: 'tcp', port: 443 }], 1000)).toEqual([
    last === v2,
  ])
  return last
}
