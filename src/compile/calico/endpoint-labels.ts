/**
 * @module Which pod label keys Calico's selectors do not read from the pod: the labels Calico
 * sets on a pod's workload endpoint itself, and those the endpoint inherits from the profiles of
 * its namespace and service account. A selector on such a key reads Calico's value, which is not
 * the inventory's label.
 * @remarks Transcribed from projectcalico/calico:
 * - `libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go`
 *   (`podToDefaultWorkloadEndpoint`, commit 0f71015b8d0f166d0ab6c7d4a6a3352c53d2da35): the
 *   endpoint's labels are the pod's, then `projectcalico.org/namespace` := the pod's namespace,
 *   `projectcalico.org/orchestrator` := `k8s`, and `projectcalico.org/serviceaccount` := the
 *   pod's service account (when shorter than 63 characters), overwriting pod labels of those keys;
 * - `libcalico-go/lib/backend/k8s/conversion/conversion.go` (`NamespaceToProfile`, commit
 *   fb7b1d4cb3cae059a51969f5517791844667e6e0) and `constants.go` (`NamespaceLabelPrefix`
 *   `pcns.`, `ServiceAccountLabelPrefix` `pcsa.`): the namespace's labels (and
 *   `projectcalico.org/name`) as `pcns.<key>`, the service account's as `pcsa.<key>`, applied to
 *   every endpoint of the profile ("in addition to the endpoint's own labels", Profile
 *   `labelsToApply`).
 * Bulkhead knows a pod's namespace but neither its service account nor namespace or
 * service-account labels, and a label selector also takes pods created later.
 */

/** The labels Calico sets on every workload endpoint of a Kubernetes pod. */
const SET_KEYS: Readonly<Record<string, string>> = {
  'projectcalico.org/namespace': "Calico sets it to the pod's namespace",
  'projectcalico.org/orchestrator': 'Calico sets it to k8s',
  'projectcalico.org/serviceaccount': "Calico sets it to the pod's service account",
}

/** Prefixes of the labels endpoints inherit from their namespace and service-account profiles. */
const INHERITED_PREFIXES: Readonly<Record<string, string>> = {
  'pcns.': "Calico gives every endpoint its namespace's labels under this prefix",
  'pcsa.': "Calico gives every endpoint its service account's labels under this prefix",
}

/**
 * Why Calico's selectors do not read the pod label `key` as the pod carries it, or undefined
 * when they do. `projectcalico.org/namespace` → "Calico sets it to the pod's namespace";
 * `pcns.team` → the namespace-label reason; `app`, `projectcalico.org/tier` → undefined.
 */
export function calicoEndpointKey(key: string): string | undefined {
  const set = SET_KEYS[key]
  if (set !== undefined) return set
  for (const [prefix, why] of Object.entries(INHERITED_PREFIXES))
    if (key.startsWith(prefix)) return why
  return undefined
}
