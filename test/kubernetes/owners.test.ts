import { describe, expect, it } from 'vitest'
import type { Diagnostic } from '../../src/core/index.js'
import { kubernetesObjects, podsAndNamespaces } from '../../src/kubernetes/index.js'

/** The (pod, workload) pairs of a JSON list of objects in namespace `ns`. */
function workloads(items: unknown[]): { pods: string[][]; diagnostics: Diagnostic[] } {
  const sink: Diagnostic[] = []
  const text = JSON.stringify({ apiVersion: 'v1', kind: 'List', items })
  const { pods } = podsAndNamespaces(kubernetesObjects([{ path: 'k.json', text }], sink))
  return { pods: pods.map((p) => [p.name, p.workload]), diagnostics: sink }
}
const obj = (kind: string, name: string, meta: Record<string, unknown> = {}) => ({
  apiVersion: kind === 'Pod' ? 'v1' : 'apps/v1',
  kind,
  metadata: { name, namespace: 'ns', ...meta },
})

describe('k8s connlist: owner references (one walk shared with the inventory)', () => {
  it('a cycle of owners names the workload after the reference that closes it', () => {
    const r = workloads([
      obj('ReplicaSet', 'r', {
        uid: 'u-r',
        ownerReferences: [{ kind: 'Pod', name: 'p', uid: 'u-p' }],
      }),
      obj('Pod', 'p', {
        uid: 'u-p',
        ownerReferences: [{ kind: 'ReplicaSet', name: 'r', uid: 'u-r' }],
      }),
    ])
    expect(r.diagnostics).toEqual([])
    // from the Pod, the reference back to it; the ReplicaSet is its own top owner (from it, the
    // reference back to it), with no Pod of that name, so it gives a template pod
    expect(r.pods).toEqual([
      ['p', 'ns/p[Pod]'],
      ['r', 'ns/r[ReplicaSet]'],
    ])
  })
  it('finds an owner by uid before its name; a reference without a kind is a Pod', () => {
    expect(
      workloads([
        obj('ReplicaSet', 'renamed', { uid: 'u-1' }),
        obj('Pod', 'a', { ownerReferences: [{ kind: 'ReplicaSet', name: 'old', uid: 'u-1' }] }),
        obj('Pod', 'b', {
          ownerReferences: [
            { name: 'x', controller: true },
            { kind: 'ReplicaSet', name: 'y' },
          ],
        }),
      ]).pods,
    ).toEqual([
      ['a', 'ns/renamed[ReplicaSet]'],
      ['b', 'ns/x[Pod]'],
    ])
  })
})
