/**
 * @module Selector matching (the plain, reference form) and selector rendering.
 * @remarks Semantics: DESIGN.md "Policy language v1", rule 2; Kubernetes label selectors.
 */
import type { Entity } from './entity.js'
import { cidrContains, type IpAddress } from './ip.js'
import type { LabelSet } from './labels.js'
import type { LabelExpression, Selector } from './model.js'

/**
 * True when `labels` satisfy one Kubernetes requirement. `NotIn` and `DoesNotExist` hold for a
 * missing key, as in Kubernetes.
 */
export function expressionMatches(expr: LabelExpression, labels: LabelSet): boolean {
  const has = Object.hasOwn(labels, expr.key)
  const value = labels[expr.key]
  switch (expr.operator) {
    case 'In':
      return has && expr.values.includes(value as string)
    case 'NotIn':
      return !has || !expr.values.includes(value as string)
    case 'Exists':
      return has
    case 'DoesNotExist':
      return !has
  }
}

/** True when `labels` carry every pair of `match` (matchLabels semantics). */
export function labelsMatch(match: LabelSet, labels: LabelSet): boolean {
  for (const key of Object.keys(match)) {
    if (!Object.hasOwn(labels, key) || labels[key] !== match[key]) return false
  }
  return true
}

/** A flow endpoint as the evaluator sees it: its address and what it resolved to. */
export interface Endpoint {
  readonly ip: IpAddress
  readonly entity: Entity
}

/**
 * True when the selector matches the endpoint, with `scope` ANDed into label and workload
 * selectors that are not `global` (DESIGN.md semantics rule 2). Pass an empty scope for none.
 */
export function selectorMatches(sel: Selector, ep: Endpoint, scope: LabelSet): boolean {
  switch (sel.kind) {
    case 'any':
      return true
    case 'cidr':
      return cidrContains(sel.cidr, ep.ip) && !sel.except.some((c) => cidrContains(c, ep.ip))
    case 'external':
      return ep.entity.kind === 'external' && ep.entity.named && ep.entity.name === sel.name
    case 'workload':
      return (
        ep.entity.kind === 'workload' &&
        ep.entity.workload.name === sel.name &&
        (sel.global || labelsMatch(scope, ep.entity.workload.labels))
      )
    case 'labels': {
      if (ep.entity.kind !== 'workload') return false
      const labels = ep.entity.workload.labels
      return (
        labelsMatch(sel.match, labels) &&
        sel.expressions.every((e) => expressionMatches(e, labels)) &&
        (sel.global || labelsMatch(scope, labels))
      )
    }
  }
}

/** True for selectors that are ANDed with the policy scope (label and workload selectors not marked global). */
export function isScoped(sel: Selector): boolean {
  return (sel.kind === 'labels' || sel.kind === 'workload') && !sel.global
}

/**
 * A canonical text form of a selector, usable as a cache key and in messages.
 * Stable: selector cache keys; do not change the format.
 * @example `{app=payments,role=web}`, `{role=web; env NotIn (dev)} global`, `cidr 10.0.0.0/8 except 10.1.0.0/16`, `workload pay-api-1`, `any`
 */
export function selectorKey(sel: Selector): string {
  switch (sel.kind) {
    case 'any':
      return 'any'
    case 'cidr':
      return sel.except.length === 0
        ? `cidr ${sel.cidr.text}`
        : `cidr ${sel.cidr.text} except ${sel.except.map((c) => c.text).join(',')}`
    case 'external':
      return `external ${sel.name}`
    case 'workload':
      return `workload ${sel.name}${sel.global ? ' global' : ''}`
    case 'labels': {
      const pairs = Object.keys(sel.match).map((k) => `${k}=${sel.match[k] ?? ''}`)
      const exprs = sel.expressions.map((e) =>
        e.operator === 'Exists' || e.operator === 'DoesNotExist'
          ? `${e.operator === 'Exists' ? '' : '!'}${e.key}`
          : `${e.key} ${e.operator} (${[...e.values].sort().join(',')})`,
      )
      const body = [pairs.join(','), ...exprs].filter((s) => s !== '').join('; ')
      return `{${body}}${sel.global ? ' global' : ''}`
    }
  }
}
