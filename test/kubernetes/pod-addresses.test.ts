/**
 * @module How the Kubernetes analyser reads the addresses pods hold: a `status.podIPs` entry that
 * is no address is a located warning.
 */
import { describe, expect, it } from 'vitest'
import { loadModel } from '../../src/kubernetes/index.js'

describe('k8s: an unreadable status.podIPs entry', () => {
  // line numbers by hand: the bad entry of a/web is on line 8, its value from column 11; a/db's
  // only podIP on line 13, column 18
  const text = `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: a }
spec: { containers: [{ name: c, image: i }] }
status:
  podIPs:
    - ip: 10.244.0.1
    - ip: not-an-ip
---
apiVersion: v1
kind: Pod
metadata: { name: db, namespace: a }
status: { podIP: 300.1.1.1 }
`
  const { model, diagnostics } = loadModel([{ path: 'm.yaml', text }])

  it('is a k8s/bad-object warning at the entry, and the pod keeps its other addresses', () => {
    const bad = diagnostics.filter((d) => d.code === 'k8s/bad-object')
    expect(bad).toEqual([
      expect.objectContaining({
        severity: 'warning',
        location: expect.objectContaining({ file: 'm.yaml', line: 8, column: 11 }) as unknown,
      }),
      expect.objectContaining({
        severity: 'warning',
        location: expect.objectContaining({ file: 'm.yaml', line: 13, column: 18 }) as unknown,
      }),
    ])
    const pods = model.workloads.flatMap((w) => w.pods)
    expect(pods.find((p) => p.name === 'web')?.addresses).toEqual([
      { family: 4, value: 0x0af40001n },
    ])
    // no address left: families unknown, as for a pod without status
    expect(pods.find((p) => p.name === 'db')?.addresses).toBeUndefined()
  })
})
