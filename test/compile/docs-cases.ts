/**
 * @module Shared pieces of the held-out checks of the cluster checkers against the targets' own
 * documents (cilium-docs.test.ts, calico-docs.test.ts): pods of a small estate, policy YAML, and
 * flows with the verdict worked out by hand.
 */
import { expect } from 'vitest'
import { parseAllDocuments } from 'yaml'
import type { CheckEndpoint, CompiledPod, K8sObject } from '../../src/compile/index.js'
import { pod } from './kubernetes-fixture.js'

/** A pod `name` of namespace `ns` holding `ip`, with `labels`. */
export function docPod(
  ns: string,
  name: string,
  ip: string,
  labels: Record<string, string>,
): CompiledPod {
  return { workload: pod(ns, name, ip, labels), namespace: ns, labels }
}

/** The objects of a YAML stream, as a checker reads them. */
export const objects = (text: string): K8sObject[] =>
  parseAllDocuments(text).map((d) => d.toJS() as K8sObject)

/** A flow and its verdict by hand: source and destination (a pod's name, or an address), protocol, port. */
export type DocFlow = readonly [
  src: string,
  dst: string,
  proto: number,
  port: number,
  allowed: boolean,
]

export const TCP = 6
export const UDP = 17
export const ICMP = 1
export const ICMP6 = 58

/** The endpoint of `x`: the pod of `pods` so named, or an address no pod holds. */
export function endpointOf(
  pods: Readonly<Record<string, CompiledPod>>,
): (x: string) => CheckEndpoint {
  return (x) => {
    const p = pods[x]
    return p ? { ip: p.workload.addresses[0]?.ip ?? '', pod: p } : { ip: x }
  }
}

/**
 * Asserts that `decide` (a checker over the objects of `yaml`) gives each flow its verdict; a
 * failure lists the flows decided otherwise, as `src -> dst proto/port: want`.
 */
export function expectDocFlows(
  decide: (
    objs: K8sObject[],
    src: CheckEndpoint,
    dst: CheckEndpoint,
    proto: number,
    port: number,
  ) => boolean,
  end: (x: string) => CheckEndpoint,
  yaml: string,
  flows: readonly DocFlow[],
): void {
  const objs = objects(yaml)
  const wrong = flows
    .filter(([s, d, p, port, want]) => decide(objs, end(s), end(d), p, port) !== want)
    .map(([s, d, p, port, want]) => `${s} -> ${d} ${String(p)}/${String(port)}: ${String(want)}`)
  expect(wrong).toEqual([])
}
