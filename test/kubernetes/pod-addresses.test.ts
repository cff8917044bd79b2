/**
 * @module How the Kubernetes analyser reads the addresses pods hold: a `status.podIPs` entry that
 * is no address is a located warning.
 */
import { describe, expect, it } from 'vitest'
import {
  analyze,
  evaluateK8s,
  findEndpoint,
  formatK8sConnlist,
  loadModel,
  type EvalEndpoint,
} from '../../src/kubernetes/index.js'

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

describe('k8s: a host-network pod', () => {
  // kube-system/agent runs on the host network of the node 192.168.1.10 (IPv4 only); a/db is
  // dual-stack and admits only the ipBlocks 192.168.0.0/16 and fd00:1::/64 on TCP 5432
  const text = `apiVersion: v1
kind: Pod
metadata: { name: agent, namespace: kube-system, labels: { app: agent } }
spec: { hostNetwork: true, containers: [{ name: c, image: i }] }
status: { hostIP: 192.168.1.10, podIPs: [{ ip: 192.168.1.10 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: db, namespace: a, labels: { app: db } }
spec: { containers: [{ name: c, image: i, ports: [{ containerPort: 5432 }] }] }
status: { podIPs: [{ ip: 10.244.0.2 }, { ip: 'fd00:10:244::2' }] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-in, namespace: a }
spec:
  podSelector: { matchLabels: { app: db } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ ipBlock: { cidr: 192.168.0.0/16 } }, { ipBlock: { cidr: 'fd00:1::/64' } }]
      ports: [{ port: 5432 }]
`
  const files = [{ path: 'm.yaml', text }]
  const { model } = loadModel(files)
  const ep = (t: string): EvalEndpoint => {
    const e = findEndpoint(model, t)
    if (typeof e === 'string') throw new Error(e)
    return e
  }
  const lines = formatK8sConnlist(analyze(files).connections, 'txt')
    .split('\n')
    .map((l) => l.trim())

  it('is a pod in connlist (as np-guard reads it), of its node’s address family only', () => {
    // a pod to a/db: only ipBlocks admit, and they match addresses outside the pods
    expect(lines.filter((l) => l.startsWith('kube-system/agent[Pod] => a/db'))).toEqual([])
    expect(lines).toContain('a/db[Pod] => kube-system/agent[Pod] : All Connections')
    expect(lines).toContain('192.168.0.0-192.168.255.255[External] => a/db[Pod] : TCP 5432')
    // IPv4 only: no line with an IPv6 range (before 2026-11-24 both families, as if unknown)
    expect(lines.filter((l) => l.includes('agent') && l.includes(':['))).toEqual([])
    expect(lines.filter((l) => l.includes('agent') && /[0-9a-f]*::/.test(l))).toEqual([])
  })

  it('k8s eval: its node’s address is the node’s own traffic, with a note naming the pod', () => {
    const v = evaluateK8s(model, ep('192.168.1.10'), ep('a/db'), 6, 5432)
    expect(v.allowed).toBe(true) // the ipBlock 192.168.0.0/16: the line of its range above
    expect(v.notes).toEqual([expect.stringContaining('kube-system/agent') as unknown])
    // the pod itself, named: denied at a/db, as connlist lists no agent => a/db
    const p = evaluateK8s(model, ep('kube-system/agent'), ep('a/db'), 6, 5432)
    expect(p.allowed).toBe(false)
    expect(p.ingress?.allowed).toBe(false)
    // and it holds no IPv6 address
    const f = evaluateK8s(model, ep('kube-system/agent'), ep('fd00:1::5'), 6, 80)
    expect(f.allowed).toBe(false)
    expect(f.egress?.steps.map((s) => s.layer)).toEqual(['AddressFamily'])
  })
})
