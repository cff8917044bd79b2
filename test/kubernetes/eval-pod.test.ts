/**
 * @module Which pod `k8s eval` judges when a pod is named: that pod, under its workload's name
 * (pods of one workload can differ, here in the number of a named port during a rollout).
 */
import { describe, expect, it } from 'vitest'
import {
  evaluateK8s,
  findEndpoint,
  loadModel,
  type EvalEndpoint,
} from '../../src/kubernetes/index.js'

describe('k8s eval of a named pod judges that pod', () => {
  // a Deployment mid-rollout: the old ReplicaSet's pod names port 8000 "http", the new one's 8001
  const pod = (name: string, rs: string, port: number) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: n
  labels: { app: api }
  ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: ${rs}, uid: u-${rs}, controller: true }]
spec: { containers: [{ name: c, image: i, ports: [{ name: http, containerPort: ${String(port)} }] }] }
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${rs}
  namespace: n
  ownerReferences: [{ apiVersion: apps/v1, kind: Deployment, name: api, uid: u0, controller: true }]
spec: { selector: { matchLabels: { app: api } }, template: { metadata: { labels: { app: api } }, spec: { containers: [{ name: c, image: i }] } } }
---
`
  const { model } = loadModel([
    {
      path: 'm.yaml',
      text: `${pod('api-old-1', 'api-old', 8000)}${pod('api-new-1', 'api-new', 8001)}apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: named, namespace: n }
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{ ports: [{ port: http }] }]
`,
    },
  ])
  const ep = (t: string): EvalEndpoint => {
    const e = findEndpoint(model, t)
    if (typeof e === 'string') throw new Error(e)
    return e
  }
  const src = ep('192.0.2.1')

  it('the workload is allowed on either pod’s port', () => {
    expect(evaluateK8s(model, src, ep('n/api'), 6, 8000).allowed).toBe(true)
    expect(evaluateK8s(model, src, ep('n/api'), 6, 8001).allowed).toBe(true)
  })

  it('a pod only on its own port, judged at that pod', () => {
    const old8001 = evaluateK8s(model, src, ep('n/api-old-1'), 6, 8001)
    expect(old8001.allowed).toBe(false)
    expect(old8001.ingress?.pod).toBe('n/api-old-1')
    expect(old8001.dst).toBe('n/api[Deployment]')
    expect(evaluateK8s(model, src, ep('n/api-old-1'), 6, 8000).allowed).toBe(true)
    expect(evaluateK8s(model, src, ep('n/api-new-1'), 6, 8000).allowed).toBe(false)
  })
})
