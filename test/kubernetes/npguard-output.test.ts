/**
 * @module What `k8s connlist` prints, where checking it against np-guard's own connlist test
 * cases (beyond the 22 of ../shared/corpora) showed defects: each names the np-guard case that
 * showed it. Each fixture is a few lines written here, not np-guard's files.
 */
import { describe, expect, it } from 'vitest'
import { analyzeDocuments, formatK8sConnlist } from '../../src/kubernetes/index.js'

function connlist(docs: readonly unknown[]): string[] {
  return formatK8sConnlist(analyzeDocuments(docs).connections, 'txt')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
}

const pod = (name: string): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'a', labels: { app: name } },
  spec: { containers: [{ name: 'c', image: 'i' }] },
})

const netpol = (spec: Record<string, unknown>): unknown => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace: 'a' },
  spec: { podSelector: { matchLabels: { app: 'x' } }, ...spec },
})

describe('address ranges are cut where np-guard cuts them', () => {
  // np-guard ipblockstest_3: excepts 10.0.0.0/9 and 10.128.0.0/9 are one hole in the ipBlock
  // (ExceptCidrs then Split), so 10.0.0.0-10.255.255.255 is one range, not two
  it('adjacent excepts of one ipBlock make one range', () => {
    const np = netpol({
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/9', '10.128.0.0/9'] } }],
          ports: [{ port: 53, protocol: 'TCP' }],
        },
      ],
    })
    expect(connlist([pod('x'), pod('y'), np])).toEqual([
      '0.0.0.0-9.255.255.255[External] => a/x[Pod] : TCP 53',
      '0.0.0.0-9.255.255.255[External] => a/y[Pod] : All Connections',
      '10.0.0.0-10.255.255.255[External] => a/y[Pod] : All Connections',
      '11.0.0.0-255.255.255.255[External] => a/x[Pod] : TCP 53',
      '11.0.0.0-255.255.255.255[External] => a/y[Pod] : All Connections',
      'a/x[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'a/x[Pod] => a/y[Pod] : All Connections',
      'a/y[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
    ])
  })

  it('overlapping excepts of one ipBlock leave one hole', () => {
    const np = netpol({
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              ipBlock: {
                cidr: '10.0.0.0/8',
                except: ['10.0.0.0/16', '10.0.0.0/15', '10.1.0.0/16'],
              },
            },
          ],
        },
      ],
    })
    expect(connlist([pod('x'), np]).filter((l) => l.startsWith('a/x'))).toEqual([
      'a/x[Pod] => 10.2.0.0-10.255.255.255[External] : All Connections',
    ])
  })
})

describe('workload names', () => {
  // np-guard minikube_resources: kube-system/etcd-minikube[Pod], kube-apiserver-minikube[Pod], …
  // are mirror pods whose controller owner is the Node; they are not one "minikube[Node]" workload
  it('a mirror pod owned by its Node is its own [Pod] workload', () => {
    const mirror = (name: string): unknown => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'kube-system',
        labels: { component: name },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Node', name: 'minikube', uid: 'n1', controller: true },
        ],
      },
      spec: { containers: [{ name: 'c', image: 'i' }] },
      status: { phase: 'Running', podIP: '192.168.49.2' },
    })
    expect(connlist([mirror('etcd-minikube'), mirror('kube-scheduler-minikube')])).toEqual([
      '0.0.0.0-255.255.255.255[External] => kube-system/etcd-minikube[Pod] : All Connections',
      '0.0.0.0-255.255.255.255[External] => kube-system/kube-scheduler-minikube[Pod] : All Connections',
      'kube-system/etcd-minikube[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'kube-system/etcd-minikube[Pod] => kube-system/kube-scheduler-minikube[Pod] : All Connections',
      'kube-system/kube-scheduler-minikube[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections',
      'kube-system/kube-scheduler-minikube[Pod] => kube-system/etcd-minikube[Pod] : All Connections',
    ])
  })
})
