/**
 * @module OVN-Kubernetes primary user-defined networks (UserDefinedNetwork,
 * ClusterUserDefinedNetwork) as np-guard's netpol-analyzer reads them: which namespaces leave the
 * cluster's pod network for an isolated network of their own.
 *
 * What isolates what:
 *
 * - A **UserDefinedNetwork** (`k8s.ovn.org/v1`, namespaced) with `spec.topology` `Layer2` or
 *   `Layer3` and the matching `spec.layer2` / `spec.layer3` `role: Primary` puts its namespace on
 *   a primary network of its own, named after the namespace. It counts only when that namespace
 *   is declared in the input with the label `k8s.ovn.org/primary-user-defined-network` (any
 *   value); otherwise it is ignored (`k8s/network-ignored`, warning), as is a `Secondary` one.
 * - A **ClusterUserDefinedNetwork** (cluster-scoped) with `spec.network.{topology, layer2,
 *   layer3}` as above and `spec.namespaceSelector` puts every declared namespace its selector
 *   matches **and** that carries the label on one network named after the CUDN; a matched
 *   namespace without the label stays on the pod network (warning).
 * - Errors (`k8s/bad-network`, the input is refused as np-guard refuses it): a topology other
 *   than Layer2/Layer3, a `layer2`/`layer3` block that does not match the topology, a role other
 *   than Primary/Secondary, a UDN named `default`, a primary network in the `default` or an
 *   `openshift-*` namespace, two primary networks for one namespace, and a CUDN selecting every
 *   namespace (`{}`) when another primary network exists. Objects are taken in input order.
 * - Pods of one primary network reach each other under the usual policies (AdminNetworkPolicy,
 *   NetworkPolicy, BaselineAdminNetworkPolicy, as on the pod network); a pod of a primary
 *   network and a pod of another network (another UDN/CUDN, or the pod network) never connect,
 *   whatever the policies say. Two UDNs are the same network only in the same namespace; a UDN
 *   and a CUDN are never the same network. Address ranges and the `{ingress-controller}` are
 *   outside every network: they connect to pods of any network as the policies allow.
 *
 * Names and output (np-guard's txt format): a workload of a UDN namespace prints as
 * `ns[udn]/name[Kind]`; CUDN workloads keep `ns/name[Kind]`. When some connection is in a
 * primary network, `k8s connlist` prints sections: `Permitted connectivity analyzed in Pod
 * network:` (only when the pod network has lines), then one `Permitted connectivity analyzed in
 * primary UDN <namespace>:` per UDN and one `... in primary CUDN <name>:` per CUDN, each sorted
 * by name and preceded by an empty line. A connection belongs to the network of its workload
 * end(s). Without any primary network the output is the plain list, unchanged. Not printed:
 * np-guard's "Workload-to-Networks Mapping" section and its note on an empty pod network (both
 * only in its multiple-networks mode in the newest formatter; some older goldens have the mapping).
 *
 * @remarks Sources: the CRDs' API reference, ClusterUserDefinedNetwork
 * (https://docs.redhat.com/en/documentation/openshift_container_platform/4.21/html/network_apis/clusteruserdefinednetwork-k8s-ovn-org-v1:
 * `spec.namespaceSelector` "for which namespace network should be available", `spec.network`)
 * and UserDefinedNetwork
 * (https://docs.redhat.com/en/documentation/openshift_container_platform/4.21/html/network_apis/userdefinednetwork-k8s-ovn-org-v1:
 * `topology` "Layer3", "Layer2"; `layer2.role` / `layer3.role`); OpenShift "Primary networks"
 * (https://docs.redhat.com/en/documentation/openshift_container_platform/4.18/html/networking/primary-networks:
 * UDN segments are isolated by default, one primary UDN per namespace); the required label
 * (openshift-docs `modules/virt-creating-udn-namespace-cli.adoc`: "The
 * k8s.ovn.org/primary-user-defined-network label is required for the namespace to be associated
 * with a UDN"). What np-guard does, which this module follows: np-guard/netpol-analyzer
 * `pkg/netpol/eval/resources.go` (`insertUserDefinedNetwork`, `insertClusterUserDefinedNetwork`,
 * `findNamespacesSelectedByCUDN`), `pkg/netpol/eval/check.go` (`podsFromIsolatedPrimaryNetworks`,
 * `isPeerExternal`), `pkg/netpol/connlist/conns_formatter_txt.go` (`writeNetworksSection`) and its
 * goldens `test_outputs/connlist/udn_test_*`, `cudn_test_6_connlist_output.txt` (commit 2e0c059).
 */
import { isMapping, type YamlPath } from '../core/yaml-source.js'
import {
  objectMeta,
  parseLabelSelector,
  selects,
  type K8sNamespace,
  type KubernetesObject,
  type LabelSelector,
} from './manifests.js'

/** The namespace label OVN-Kubernetes requires before a primary UDN/CUDN may take the namespace. */
export const PRIMARY_UDN_LABEL = 'k8s.ovn.org/primary-user-defined-network'

/** A primary user-defined network a namespace belongs to. */
export interface PrimaryNetwork {
  readonly kind: 'UDN' | 'CUDN'
  /** The network's name: the namespace (UDN) or the CUDN's name. */
  readonly name: string
  /** The object: `ns/name` (UDN) or `name` (CUDN). */
  readonly resource: string
}

type Topology = { layer: 'layer2' | 'layer3'; role: string } | string

/** The primary/secondary role of a network spec, or the reason it is invalid. */
function networkRole(spec: Record<string, unknown>): Topology {
  const topology = spec['topology']
  if (topology !== 'Layer2' && topology !== 'Layer3')
    return `topology ${JSON.stringify(topology ?? null)} must be Layer2 or Layer3`
  const layer = topology === 'Layer2' ? 'layer2' : 'layer3'
  const other = topology === 'Layer2' ? 'layer3' : 'layer2'
  if (spec[other] !== undefined && spec[other] !== null)
    return `topology ${topology} does not go with a ${other} block`
  const block = spec[layer]
  const role = isMapping(block) ? block['role'] : undefined
  if (role !== 'Primary' && role !== 'Secondary')
    return `${layer}.role ${JSON.stringify(role ?? null)} must be Primary or Secondary`
  return { layer, role }
}

function reserved(ns: string): boolean {
  return ns === 'default' || ns.startsWith('openshift-')
}

/**
 * Reads the UserDefinedNetwork and ClusterUserDefinedNetwork objects (in input order) and
 * returns the primary network of every namespace that has one (see the module comment).
 * Problems go to the objects' documents: `k8s/bad-network` errors, `k8s/network-ignored`
 * warnings.
 * @param namespaces - every namespace of the model (declared, or implied by a pod).
 * @param declared - the namespaces declared by a Namespace object: only those can join a network
 *   (np-guard reads networks after the declared namespaces, before implying the others).
 * @returns namespace → its primary network, for namespaces that have one.
 */
export function primaryNetworks(
  objects: readonly KubernetesObject[],
  namespaces: ReadonlyMap<string, K8sNamespace>,
  declared: ReadonlySet<string>,
): Map<string, PrimaryNetwork> {
  const out = new Map<string, PrimaryNetwork>()
  const labelled = (ns: string): boolean =>
    declared.has(ns) && namespaces.get(ns)?.labels[PRIMARY_UDN_LABEL] !== undefined
  for (const obj of objects) {
    const kind = obj.value['kind']
    if (kind !== 'UserDefinedNetwork' && kind !== 'ClusterUserDefinedNetwork') continue
    const p = (rel: YamlPath): YamlPath => [...obj.path, ...rel]
    const { name, namespace } = objectMeta(obj)
    if (name === undefined) {
      obj.doc.report('k8s/bad-network', `${kind} without metadata.name`, p(['metadata']))
      continue
    }
    const cluster = kind === 'ClusterUserDefinedNetwork'
    const resource = cluster ? name : `${namespace}/${name}`
    const what = `${kind} ${resource}`
    const spec = obj.value['spec']
    const netSpec = cluster && isMapping(spec) ? spec['network'] : spec
    const specPath = cluster ? ['spec', 'network'] : ['spec']
    if (!isMapping(netSpec)) {
      obj.doc.report('k8s/bad-network', `${what}: missing ${specPath.join('.')}`, p([]))
      continue
    }
    const role = networkRole(netSpec)
    if (typeof role === 'string') {
      obj.doc.report('k8s/bad-network', `${what}: ${role}`, p(specPath))
      continue
    }
    if (role.role !== 'Primary') {
      obj.doc.report(
        'k8s/network-ignored',
        `${what}: only primary networks are analysed; this ${role.role} one is ignored`,
        p([...specPath, role.layer, 'role']),
        { severity: 'warning' },
      )
      continue
    }
    /**
     * Whether `ns` may join this network (np-guard's checks: the label, else a warning and the
     * namespace stays where it is; not `default`/`openshift-*`; no primary network yet).
     */
    const admits = (ns: string, at: YamlPath, unlabelled: string): boolean => {
      const current = out.get(ns)
      const [code, message] = !labelled(ns)
        ? [
            'k8s/network-ignored' as const,
            `namespace ${ns} ${unlabelled} ${PRIMARY_UDN_LABEL}; it stays on the pod network`,
          ]
        : reserved(ns)
          ? ['k8s/bad-network' as const, `no primary network may be set up in namespace ${ns}`]
          : current
            ? [
                'k8s/bad-network' as const,
                `namespace ${ns} already has the primary network ${current.resource}; a namespace has one`,
              ]
            : [undefined, '']
      if (code === undefined) return true
      obj.doc.report(
        code,
        `${what}: ${message}`,
        at,
        code === 'k8s/network-ignored' ? { severity: 'warning' } : {},
      )
      return false
    }
    if (!cluster) {
      if (name === 'default') {
        obj.doc.report(
          'k8s/bad-network',
          `${what}: a UserDefinedNetwork may not be named default`,
          p(['metadata', 'name']),
        )
        continue
      }
      if (!admits(namespace, p(['metadata']), 'is not declared with the label')) continue
      out.set(namespace, { kind: 'UDN', name: namespace, resource })
      continue
    }
    const rawSel = isMapping(spec) ? spec['namespaceSelector'] : undefined
    const selector: LabelSelector | undefined = parseLabelSelector(
      obj.doc,
      p(['spec', 'namespaceSelector']),
      rawSel ?? {},
      what,
    )
    if (!selector) continue
    const all = Object.keys(selector.matchLabels).length === 0 && selector.expressions.length === 0
    if (all && out.size > 0) {
      obj.doc.report(
        'k8s/bad-network',
        `${what}: selects every namespace while another primary network exists`,
        p(['spec', 'namespaceSelector']),
      )
      continue
    }
    let count = 0
    for (const ns of [...namespaces.keys()].sort()) {
      const nsObj = namespaces.get(ns)
      if (!nsObj || !declared.has(ns) || !selects(selector, nsObj.labels)) continue
      if (!admits(ns, p(['spec', 'namespaceSelector']), 'is selected but lacks the label')) continue
      out.set(ns, { kind: 'CUDN', name, resource })
      count++
    }
    if (count === 0) {
      obj.doc.report('k8s/network-ignored', `${what}: selects no namespace`, p(['spec']), {
        severity: 'warning',
      })
    }
  }
  return out
}

/**
 * Whether two pods' primary networks keep them apart: `a`/`b` are their networks (undefined:
 * the pod network). Same UDN namespace or same CUDN: together; otherwise a primary network
 * isolates (np-guard `podsFromIsolatedPrimaryNetworks`).
 */
export function networksIsolate(
  a: PrimaryNetwork | undefined,
  b: PrimaryNetwork | undefined,
): boolean {
  if (!a && !b) return false
  if (!a || !b) return true
  return a.kind !== b.kind || a.name !== b.name
}

/** `ns[udn]/rest` for a workload name `ns/rest` of a UDN namespace (np-guard's spelling). */
export function udnWorkloadName(name: string, namespace: string): string {
  return `${namespace}[udn]${name.slice(namespace.length)}`
}

/** How a network reads in messages: `the pod network`, `primary UDN ns`, `primary CUDN name`. */
export function networkLabel(n: PrimaryNetwork | undefined): string {
  return n ? `primary ${n.kind} ${n.name}` : 'the pod network'
}
