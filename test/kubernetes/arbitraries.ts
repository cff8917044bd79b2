/**
 * @module Manifest builders and fast-check generators of random Kubernetes estates (pods in two
 * namespaces, NetworkPolicies, AdminNetworkPolicies, a BaselineAdminNetworkPolicy), shared by the
 * analyser's property test and the import's.
 */
import fc from 'fast-check'

/** A Namespace object. */
export const ns = (name: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
})

/** A Pod with one container exposing `ports`. */
export const pod = (
  name: string,
  namespace: string,
  labels: Record<string, string>,
  ports: Record<string, unknown>[] = [],
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', ports }] },
})

/** A networking.k8s.io/v1 NetworkPolicy. */
export const np = (name: string, namespace: string, spec: unknown) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
})

/** A policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy. */
export const anp = (name: string, priority: number, spec: Record<string, unknown>) => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name },
  spec: { priority, ...spec },
})

/** Pod and namespace selectors the generated policies choose from. */
export interface SelectorChoices {
  readonly pods: readonly Record<string, unknown>[]
  readonly namespaces: readonly Record<string, unknown>[]
  /**
   * Give pods addresses (`status.podIPs`: none, IPv4, IPv6 or both; see {@link podIps}) and
   * policies the IPv6 blocks `fd00::/16` (ipBlock, ANP networks) that hold them. Off: the
   * estates of earlier sessions, unchanged.
   */
  readonly addresses?: boolean
}

/** Address families of a generated pod (`[]`: no `status.podIPs`, families unknown). */
export type PodFamilies = readonly (4 | 6)[]

/**
 * The addresses of generated pod `i`: IPv4 `10.1.0.<i+1>` (inside the estates' except
 * `10.1.0.0/16`) for even `i`, `10.2.0.<i+1>` (inside `10.0.0.0/8`, not excepted) for odd `i`;
 * IPv6 `fd00::<i+1>` (inside `fd00::/16`).
 */
export function podIps(i: number, families: PodFamilies): string[] {
  return families.map((f) =>
    f === 4 ? `10.${String(1 + (i % 2))}.0.${String(i + 1)}` : `fd00::${String(i + 1)}`,
  )
}

/**
 * Generators of random estates over the given selectors: `estate` (up to 4 pods with a named
 * port `web`, up to 3 NetworkPolicies, 2 ANPs and a BANP), and the parts tests recombine.
 */
export function k8sArbitraries(choices: SelectorChoices) {
  const sel = fc.constantFrom(...choices.pods)
  const nsSel = fc.constantFrom(...choices.namespaces)
  const npPeer = fc.oneof(
    fc.record({ podSelector: sel }),
    fc.record({ namespaceSelector: nsSel }),
    fc.record({ namespaceSelector: nsSel, podSelector: sel }),
    fc.constant({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }),
    fc.constant({ ipBlock: { cidr: '0.0.0.0/0' } }),
    ...(choices.addresses === true ? [fc.constant({ ipBlock: { cidr: 'fd00::/16' } })] : []),
  )
  const npPort = fc.constantFrom<Record<string, unknown>>(
    { port: 80 },
    { protocol: 'UDP' },
    { port: 'web' },
    { port: 'web', protocol: 'UDP' },
    { port: 80, endPort: 90 },
    { protocol: 'SCTP', port: 9 },
  )
  const npRule = (key: 'from' | 'to') =>
    fc.record(
      {
        [key]: fc.option(fc.array(npPeer, { maxLength: 2 }), { nil: undefined }),
        ports: fc.option(fc.array(npPort, { minLength: 1, maxLength: 2 }), { nil: undefined }),
      },
      { requiredKeys: [] },
    )
  const npSpec = fc.record(
    {
      podSelector: sel,
      policyTypes: fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
      ingress: fc.array(npRule('from'), { maxLength: 2 }),
      egress: fc.array(npRule('to'), { maxLength: 2 }),
    },
    { requiredKeys: ['podSelector'] },
  )
  const anpPods = fc.oneof(
    fc.record({ namespaces: nsSel }),
    fc.record({ pods: fc.record({ namespaceSelector: nsSel, podSelector: sel }) }),
  )
  const anpPort = fc.constantFrom<Record<string, unknown>>(
    { portNumber: { protocol: 'TCP', port: 80 } },
    { namedPort: 'web' },
    { portRange: { protocol: 'UDP', start: 50, end: 60 } },
  )
  const anpRule = (key: 'from' | 'to', actions: string[]) =>
    fc.record(
      {
        name: fc.constantFrom('r1', 'r2', 'r3'),
        action: fc.constantFrom(...actions),
        [key]: fc.array(
          key === 'to'
            ? fc.oneof(
                anpPods,
                choices.addresses === true
                  ? fc.constantFrom({ networks: ['10.0.0.0/8'] }, { networks: ['fd00::/16'] })
                  : fc.constant({ networks: ['10.0.0.0/8'] }),
              )
            : anpPods,
          { minLength: 1, maxLength: 2 },
        ),
        ports: fc.option(fc.array(anpPort, { minLength: 1, maxLength: 2 }), { nil: undefined }),
      },
      { requiredKeys: ['name', 'action', key] },
    )
  const anpSpec = (baseline: boolean) => {
    const actions = baseline ? ['Allow', 'Deny'] : ['Allow', 'Deny', 'Pass']
    return fc.record({
      subject: anpPods,
      ingress: fc.array(anpRule('from', actions), { maxLength: 2 }),
      egress: fc.array(anpRule('to', actions), { maxLength: 2 }),
    })
  }
  const podBase = {
    ns: fc.constantFrom('a', 'b'),
    app: fc.constantFrom('a', 'b', 'c'),
    web: fc.constantFrom(80, 85, 55, 9),
    proto: fc.constantFrom('TCP', 'UDP', 'SCTP'),
  }
  const podRecord = (
    choices.addresses === true
      ? fc.record({
          ...podBase,
          families: fc.constantFrom<PodFamilies>([], [4], [6], [4, 6]),
        })
      : fc.record(podBase)
  ) as fc.Arbitrary<{
    ns: string
    app: string
    web: number
    proto: string
    families?: PodFamilies
  }>
  const estate = fc.record({
    pods: fc.array(podRecord, { minLength: 1, maxLength: 4 }),
    nps: fc.array(fc.record({ ns: fc.constantFrom('a', 'b'), spec: npSpec }), { maxLength: 3 }),
    anps: fc.array(anpSpec(false), { maxLength: 2 }),
    banp: fc.option(anpSpec(true), { nil: undefined }),
  })
  return { estate, anpPods, anpRule }
}

/** A generated estate. */
export type K8sEstate =
  ReturnType<typeof k8sArbitraries>['estate'] extends fc.Arbitrary<infer T> ? T : never

/**
 * The manifests of a generated estate: namespaces a (team x) and b (team y), pods (with the
 * addresses of {@link podIps} when generated with families), policies.
 */
export function estateDocs(e: K8sEstate): unknown[] {
  const docs: unknown[] = [ns('a', { team: 'x' }), ns('b', { team: 'y' })]
  e.pods.forEach((p, i) => {
    const doc = pod(`p${i}`, p.ns, { app: p.app }, [
      { name: 'web', containerPort: p.web, protocol: p.proto },
    ])
    const ips = podIps(i, p.families ?? [])
    docs.push(ips.length > 0 ? { ...doc, status: { podIPs: ips.map((ip) => ({ ip })) } } : doc)
  })
  e.nps.forEach((n, i) => docs.push(np(`np${i}`, n.ns, n.spec)))
  e.anps.forEach((s, i) => docs.push(anp(`anp${i}`, i, s)))
  if (e.banp)
    docs.push({
      apiVersion: 'policy.networking.k8s.io/v1alpha1',
      kind: 'BaselineAdminNetworkPolicy',
      metadata: { name: 'default' },
      spec: e.banp,
    })
  return docs
}
