import { describe, it, expect } from 'vitest'
import path from 'node:path'
import type { Diagnostic } from '../../src/core/index.js'
import {
  defaultWorkspace,
  parseWorkspaceFile,
  resolveWorkspacePath,
} from '../../src/policy/index.js'

describe('bulkhead.yaml', () => {
  it('string_inventory_and_store_url', () => {
    const sink: Diagnostic[] = []
    const w = parseWorkspaceFile(
      'ws',
      {
        path: 'ws/bulkhead.yaml',
        text: 'apiVersion: bulkhead.dev/v1\nkind: Workspace\ninventory: hosts.yaml\nstore: clickhouse://db:8123/flows\n',
      },
      sink,
    )
    expect(sink).toEqual([])
    expect(w.inventory).toEqual([path.resolve('ws/hosts.yaml')])
    expect(w.store).toBe('clickhouse://db:8123/flows')
    expect(w.policy).toBe(path.resolve('ws/policy'))
  })

  it('unknown_field_is_reported_and_defaults_kept', () => {
    const sink: Diagnostic[] = []
    const w = parseWorkspaceFile(
      'ws',
      {
        path: 'ws/bulkhead.yaml',
        text: 'apiVersion: bulkhead.dev/v1\nkind: Workspace\npolicies: p/\n',
      },
      sink,
    )
    expect(sink).toEqual([
      expect.objectContaining({
        code: 'schema/unknown-field',
        location: { file: 'ws/bulkhead.yaml', line: 3, column: 1 },
      }),
    ])
    expect(w).toEqual(defaultWorkspace('ws'))
  })

  it('source_entries_are_checked', () => {
    const sink: Diagnostic[] = []
    parseWorkspaceFile(
      'ws',
      {
        path: 'b.yaml',
        text: 'apiVersion: bulkhead.dev/v1\nkind: Workspace\nsources:\n  - { path: x.log }\n',
      },
      sink,
    )
    expect(sink).toEqual([
      expect.objectContaining({
        code: 'schema/missing-field',
        location: { file: 'b.yaml', line: 4, column: 5 },
      }),
    ])
  })

  it('inventory_of_another_shape_names_the_shapes_it_takes', () => {
    // zod's message for a union was "Invalid input"
    const sink: Diagnostic[] = []
    parseWorkspaceFile(
      'ws',
      { path: 'b.yaml', text: 'apiVersion: bulkhead.dev/v1\nkind: Workspace\ninventory: 5\n' },
      sink,
    )
    expect(sink).toEqual([
      expect.objectContaining({
        code: 'schema/invalid-value',
        location: { file: 'b.yaml', line: 3, column: 12 },
      }),
    ])
    expect(sink[0]?.message).toMatch(/a path or a list of paths/)
  })

  it('store_written_as_a_folder_is_refused_at_its_line (s44 QA hostile F3)', () => {
    // `store: flowsdb/` created a DuckDB file named flowsdb; `.bulkhead/` replaced that folder
    for (const store of ['flowsdb/', '.bulkhead/', 'sub/.', '..', 'a/..']) {
      const sink: Diagnostic[] = []
      parseWorkspaceFile(
        'ws',
        { path: 'b.yaml', text: `apiVersion: bulkhead.dev/v1\nkind: Workspace\nstore: ${store}\n` },
        sink,
      )
      expect(sink).toEqual([
        expect.objectContaining({
          code: 'schema/invalid-value',
          location: { file: 'b.yaml', line: 3, column: 8 },
        }),
      ])
      expect(sink[0]?.message).toMatch(/names the DuckDB file, not a folder/)
    }
  })

  it('resolves_relative_paths_only', () => {
    expect(resolveWorkspacePath('/a', 'b/c')).toBe('/a/b/c')
    expect(resolveWorkspacePath('/a', '/x')).toBe('/x')
  })
})
