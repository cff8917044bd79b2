/**
 * @module Inventory from Azure: virtual machines as `az vm list --show-details -o json` prints
 * them (a JSON array; `--show-details` adds `privateIps`), or one (`az vm show -d -o json`).
 *
 * @remarks Source format: Azure CLI `az vm list` / `az vm show` with `--show-details`
 * (https://learn.microsoft.com/cli/azure/vm#az-vm-list), resource `type`
 * `Microsoft.Compute/virtualMachines`; tags
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources). Semantics:
 * DESIGN.md "Workspace, inventory and enforcement files" (tags become labels).
 */
import type { TimedAddress, Workload } from '../../core/index.js'
import { isMapping, type YamlDoc, type YamlPath } from '../../core/yaml-source.js'
import {
  cloudWorkloads,
  requiredName,
  tagsOf,
  type CloudInstance,
  type FoundInstance,
  type RawAddress,
} from './cloud.js'

/** The label holding the virtual machine's resource group, lower-cased (Azure ignores its case). */
export const AZURE_RESOURCE_GROUP_LABEL = 'azure/resource-group'

/** The label holding the virtual machine's region (`westeurope`). */
export const AZURE_LOCATION_LABEL = 'azure/location'

/** One Azure virtual machine found in an inventory file, with where it is. */
export type AzureVm = FoundInstance

const VM_TYPE = 'microsoft.compute/virtualmachines'

function isVm(v: unknown): v is Record<string, unknown> {
  return isMapping(v) && typeof v['type'] === 'string' && v['type'].toLowerCase() === VM_TYPE
}

/** True when a parsed document holds Azure virtual machines: an array whose first element is one, or one. */
export function isAzureVms(value: unknown): boolean {
  return Array.isArray(value) ? isVm(value[0]) : isVm(value)
}

/** Collects the virtual machines of a document {@link isAzureVms} took into `into`. */
export function collectAzureVms(d: YamlDoc, into: AzureVm[]): void {
  const take = (v: unknown, path: YamlPath): void => {
    if (isVm(v)) into.push({ doc: d, path, value: v })
    else
      d.report(
        'schema/invalid-value',
        'not an Azure virtual machine (type Microsoft.Compute/virtualMachines)',
        path,
      )
  }
  if (Array.isArray(d.value)) {
    d.value.forEach((v, i) => {
      take(v, [i])
    })
  } else take(d.value, [])
}

/**
 * Builds workloads from every collected virtual machine (through {@link cloudWorkloads}).
 *
 * - **Name**: `name` (missing: `schema/missing-field`), the name Azure gives the VM. Machines
 *   of one name (in two resource groups) are one workload.
 * - **Addresses**: `privateIps`, the comma-separated private addresses of every interface that
 *   `--show-details` adds. Without it a machine has none (an `inventory/no-address` warning
 *   names the flag). Public addresses are not workload addresses.
 * - **Labels**: every tag (sanitised where a key or value is not a valid label); plus
 *   `azure/resource-group` (lower-cased) and `azure/location`.
 * - **Tags** ({@link Workload.tags}): the tags as written.
 */
export function azureWorkloads(vms: readonly AzureVm[], secondary?: Set<TimedAddress>): Workload[] {
  const cloud: CloudInstance[] = []
  for (const vm of vms) {
    const v = vm.value
    const name = requiredName(vm)
    if (name === undefined) continue
    const tags = tagsOf(vm, 'tags')
    const extra: Record<string, string> = {}
    if (typeof v['resourceGroup'] === 'string' && v['resourceGroup'] !== '')
      extra[AZURE_RESOURCE_GROUP_LABEL] = v['resourceGroup'].toLowerCase()
    if (typeof v['location'] === 'string' && v['location'] !== '')
      extra[AZURE_LOCATION_LABEL] = v['location']
    const addresses: RawAddress[] = []
    const ips = v['privateIps']
    if (typeof ips === 'string') {
      for (const ip of ips.split(',')) {
        if (ip.trim() !== '') addresses.push({ ip: ip.trim(), path: [...vm.path, 'privateIps'] })
      }
    } else if (ips === undefined) {
      vm.doc.report(
        'inventory/no-address',
        `virtual machine ${name} has no "privateIps" (list with az vm list --show-details); it is left out`,
        vm.path,
        { severity: 'warning' },
      )
      continue
    }
    cloud.push({ doc: vm.doc, path: vm.path, name, id: name, addresses, tags, extra })
  }
  return cloudWorkloads('azure', cloud, secondary)
}
