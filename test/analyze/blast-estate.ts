/**
 * @module The test/fixtures/blast-estate workspace shared by the blast-radius and metrics tests:
 * its policy/ folder, and the same inventory with the policy-open/ folder (two broad rules).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadWorkspace } from '../../src/policy/files.js'
import { loadFromSources, type LoadResult } from '../../src/policy/load.js'

/** The workspace folder, with a trailing slash. */
export const BLAST_ESTATE = fileURLToPath(new URL('../fixtures/blast-estate/', import.meta.url))

/**
 * Loads the workspace at `now` (`ws`), and its inventory/ with policy-open/ instead of policy/
 * (`open`). Diagnostics are returned, not checked.
 */
export async function loadBlastEstate(now: Date): Promise<{ ws: LoadResult; open: LoadResult }> {
  const ws = await loadWorkspace(BLAST_ESTATE, now)
  const files = (dir: string) =>
    readdirSync(`${BLAST_ESTATE}${dir}`).map((f) => ({
      path: `${dir}/${f}`,
      text: readFileSync(`${BLAST_ESTATE}${dir}/${f}`, 'utf8'),
    }))
  const open = loadFromSources(ws.workspace, files('inventory'), files('policy-open'), now)
  return { ws, open }
}
