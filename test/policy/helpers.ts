/** @module Shared helpers for the policy loading tests. */
import { readFileSync } from 'node:fs'
import type { SourceLocation } from '../../src/core/index.js'
import {
  defaultWorkspace,
  loadFromSources,
  type LoadResult,
  type SourceFile,
} from '../../src/policy/index.js'

export const NOW = new Date('2026-11-22T00:00:00Z')
export const HOSTS: SourceFile = {
  path: 'inventory/hosts.yaml',
  text: readFileSync(new URL('../fixtures/good/inventory/hosts.yaml', import.meta.url), 'utf8'),
}
export const PAYMENTS: SourceFile = {
  path: 'policy/payments.yaml',
  text: readFileSync(new URL('../fixtures/good/policy/payments.yaml', import.meta.url), 'utf8'),
}

/** Loads policy files against the good inventory (plus any extra inventory files). */
export function load(
  policy: readonly SourceFile[],
  extraInventory: readonly SourceFile[] = [],
): LoadResult {
  return loadFromSources(defaultWorkspace('.'), [HOSTS, ...extraInventory], policy, NOW)
}

/** The 1-based line and column of the `nth` occurrence of `needle` in `text`, plus `offset` columns. */
export function pos(file: SourceFile, needle: string, nth = 0, offset = 0): SourceLocation {
  let i = -1
  for (let k = 0; k <= nth; k++) {
    i = file.text.indexOf(needle, i + 1)
    if (i < 0) throw new Error(`"${needle}" #${nth} not in ${file.path}`)
  }
  const before = file.text.slice(0, i)
  const line = before.split('\n').length
  const column = i - before.lastIndexOf('\n') + offset
  return { file: file.path, line, column }
}

/** A policy file with a fixed header, scope {app: payments, env: prod}, and the given rules text. */
export function policy(rules: string, name = 'case', path = 'policy/case.yaml'): SourceFile {
  return {
    path,
    text: `apiVersion: bulkhead.dev/v1
kind: Policy
metadata:
  name: ${name}
  owner: team-x
scope: { app: payments, env: prod }
rules:
${rules}`,
  }
}
