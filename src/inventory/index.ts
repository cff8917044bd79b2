/**
 * @module Inventory stage: workload sources and label rules. Re-exports only.
 */
export * from './label-rules.js'
export {
  checkInventory,
  emptyInventoryParts,
  readInventoryDocument,
  readLabelRulesDocument,
  type InventoryParts,
} from './sources/yaml.js'
export { readCsvInventory, CSV_COLUMNS, CSV_ORIGIN } from './sources/csv.js'
export {
  collectKubernetesObjects,
  isKubernetesDocument,
  kubernetesWorkloads,
  DROPPED_POD_LABELS,
  PER_POD_LABELS,
  KUBERNETES_ORIGIN,
  type KubernetesObject,
} from './sources/kubernetes.js'
export {
  awsWorkloads,
  collectAwsInstances,
  isAwsDescribeInstances,
  sanitizeTagKey,
  sanitizeTagValue,
  AWS_ORIGIN,
  AWS_VPC_LABEL,
  type AwsInstance,
} from './sources/aws.js'
export {
  gcpWorkloads,
  collectGcpInstances,
  isGcpInstances,
  GCP_NETWORK_LABEL,
  GCP_TAG_PREFIX,
  GCP_ZONE_LABEL,
  type GcpInstance,
} from './sources/gcp.js'
export {
  azureWorkloads,
  collectAzureVms,
  isAzureVms,
  AZURE_LOCATION_LABEL,
  AZURE_RESOURCE_GROUP_LABEL,
  type AzureVm,
} from './sources/azure.js'
export { cloudWorkloads, type Cloud, type CloudInstance } from './sources/cloud.js'
export { SourceCollector, isCsvFile, type SourceKind } from './sources/merge.js'
export { Resolver, INTERNET, type ResolverOptions, type ResolverStats } from './resolver.js'
export {
  suggestLabels,
  renderSuggestedLabelRules,
  escapeRegExp,
  DEFAULT_MIN_SCORE,
  DEFAULT_ROLE_KEY,
  type LabelSuggestion,
  type RenderRulesOptions,
  type SuggestOptions,
  type SuggestionAlternative,
} from './suggest.js'
