/**
 * @module What Ingress (networking.k8s.io/v1) and OpenShift Route objects expose to the
 * `{ingress-controller}`: the workloads behind their Services and the ports (pod target ports).
 *
 * @remarks Semantics: Ingress `spec.defaultBackend` and `spec.rules[].http.paths[].backend.service`
 * `{name, port: {number | name}}` (https://kubernetes.io/docs/concepts/services-networking/ingress/);
 * Route `spec.to` and `spec.alternateBackends` (`kind: Service`), optional `spec.port.targetPort`
 * (OpenShift route.openshift.io/v1). A Service selects pods of its namespace by `spec.selector`;
 * each service port maps to `targetPort` (a number, a container port name, or `port` when
 * missing); a pod is reached on a numeric target port only when it declares that container port
 * (np-guard `pkg/netpol/connlist/internal/ingressanalyzer/ingress_analyzer.go`; its case
 * `udn_with_ingress_controller_two_pods`). As np-guard does, the controller is a pod without
 * labels in its own namespace (`ingress-controller-ns`); only the destination's ingress is checked.
 */
import { ServiceSet } from '../core/index.js'
import { isMapping } from '../core/yaml-source.js'
import { k8sProtocol, objectMeta, type K8sPod, type KubernetesObject } from './manifests.js'
import type { K8sWorkload } from './model.js'

/** The name the controller prints as in a connlist (np-guard's spelling). */
export const INGRESS_CONTROLLER = '{ingress-controller}'

/** The namespace the controller is taken to be in when policies are evaluated. */
export const INGRESS_CONTROLLER_NAMESPACE = 'ingress-controller-ns'

/** Ports of one workload exposed by Ingress/Route objects: per pod, the services reachable. */
export interface Exposure {
  readonly workload: string
  readonly pod: K8sPod
  readonly services: ServiceSet
}

interface SvcPort {
  readonly name: string | undefined
  readonly port: number
  readonly protocol: number
  readonly target: number | string
}

interface Svc {
  readonly selector: Record<string, string> | undefined
  readonly ports: readonly SvcPort[]
}

/**
 * The ports a service port reaches on `pod`. As np-guard (`GetPeerExposedTCPConnections`,
 * `getIngressPeerConnection`): a numeric target port is reached only when the pod declares a
 * container port of that number (np-guard counts every declared port, whatever its protocol); a
 * VirtualMachine declares none and is taken to listen on every port.
 */
function targetSet(pod: K8sPod, sp: SvcPort): ServiceSet {
  if (typeof sp.target === 'number') {
    const declared =
      pod.workload.endsWith('[VirtualMachine]') || pod.ports.some((c) => c.port === sp.target)
    if (!declared) return ServiceSet.EMPTY
    return ServiceSet.single({ protocol: sp.protocol, ports: { lo: sp.target, hi: sp.target } })
  }
  return ServiceSet.of(
    pod.ports
      .filter((c) => c.name === sp.target && c.protocol === sp.protocol)
      .map((c) => ({ protocol: c.protocol, ports: { lo: c.port, hi: c.port } })),
  )
}

/**
 * Exposures of every Ingress and Route (see the module comment). A backend naming a Service
 * that is not in the input, or one without selector, exposes nothing.
 */
export function parseExposures(
  objects: readonly KubernetesObject[],
  workloads: readonly K8sWorkload[],
): Exposure[] {
  const services = new Map<string, Svc>()
  for (const obj of objects) {
    if (obj.value['kind'] !== 'Service') continue
    const { name, namespace } = objectMeta(obj)
    const spec = obj.value['spec']
    if (name === undefined || !isMapping(spec)) continue
    const sel = isMapping(spec['selector'])
      ? (Object.fromEntries(
          Object.entries(spec['selector']).map(([k, v]) => [k, String(v)]),
        ) as Record<string, string>)
      : undefined
    const ports: SvcPort[] = []
    if (Array.isArray(spec['ports'])) {
      for (const p of spec['ports']) {
        if (!isMapping(p) || typeof p['port'] !== 'number') continue
        const protocol = k8sProtocol(typeof p['protocol'] === 'string' ? p['protocol'] : 'TCP') ?? 6
        const t = p['targetPort']
        const target =
          typeof t === 'number'
            ? t
            : typeof t === 'string' && t !== ''
              ? /^\d+$/.test(t)
                ? Number(t)
                : t
              : p['port']
        ports.push({
          name: typeof p['name'] === 'string' ? p['name'] : undefined,
          port: p['port'],
          protocol,
          target,
        })
      }
    }
    services.set(`${namespace}/${name}`, { selector: sel, ports })
  }
  const acc = new Map<K8sPod, { workload: string; services: ServiceSet }>()
  const expose = (namespace: string, svcName: string, pick: (p: SvcPort) => boolean): void => {
    const svc = services.get(`${namespace}/${svcName}`)
    if (!svc?.selector || Object.keys(svc.selector).length === 0) return
    const sel = svc.selector
    for (const w of workloads) {
      for (const pod of w.pods) {
        if (pod.namespace !== namespace) continue
        if (!Object.entries(sel).every(([k, v]) => pod.labels[k] === v)) continue
        let set = ServiceSet.EMPTY
        for (const sp of svc.ports) if (pick(sp)) set = set.union(targetSet(pod, sp))
        const prev = acc.get(pod)
        acc.set(pod, { workload: w.name, services: prev ? prev.services.union(set) : set })
      }
    }
  }
  for (const obj of objects) {
    const kind = obj.value['kind']
    const spec = obj.value['spec']
    if ((kind !== 'Ingress' && kind !== 'Route') || !isMapping(spec)) continue
    const { namespace } = objectMeta(obj)
    if (kind === 'Route') {
      const portSpec = isMapping(spec['port']) ? spec['port']['targetPort'] : undefined
      const pick = (sp: SvcPort): boolean =>
        portSpec === undefined ||
        portSpec === null ||
        portSpec === sp.name ||
        portSpec === sp.target ||
        portSpec === sp.port ||
        ((typeof portSpec === 'number' || typeof portSpec === 'string') &&
          String(portSpec) === String(sp.target))
      const alternates: unknown[] = Array.isArray(spec['alternateBackends'])
        ? (spec['alternateBackends'] as unknown[])
        : []
      const backs: unknown[] = [spec['to'], ...alternates]
      for (const b of backs) {
        if (
          isMapping(b) &&
          (b['kind'] === undefined || b['kind'] === 'Service') &&
          typeof b['name'] === 'string'
        )
          expose(namespace, b['name'], pick)
      }
      continue
    }
    const backends: unknown[] = [spec['defaultBackend']]
    if (Array.isArray(spec['rules'])) {
      for (const r of spec['rules']) {
        const paths = isMapping(r) && isMapping(r['http']) ? r['http']['paths'] : undefined
        if (Array.isArray(paths))
          for (const p of paths) if (isMapping(p)) backends.push(p['backend'])
      }
    }
    for (const b of backends) {
      const s = isMapping(b) ? b['service'] : undefined
      if (!isMapping(s) || typeof s['name'] !== 'string') continue
      const port = isMapping(s['port']) ? s['port'] : {}
      const num = port['number']
      const pname = port['name']
      expose(namespace, s['name'], (sp) =>
        typeof num === 'number'
          ? sp.port === num
          : typeof pname === 'string'
            ? sp.name === pname
            : true,
      )
    }
  }
  return [...acc.entries()].map(([pod, v]) => ({ workload: v.workload, pod, services: v.services }))
}
