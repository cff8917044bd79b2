import { join } from 'node:path'
import { expect, it, vi } from 'vitest'

// A folder of more files than a spread call takes arguments (about 125 000 on Node 20): two
// weeks of hourly per-interface AWS files of a 20 000-workload estate are 300 000. The listing
// is stubbed (creating the files would take the test tens of seconds); every name is a file.
const { FILES, DIR } = vi.hoisted(() => ({
  FILES: 200_000,
  DIR: '/nonexistent-bulkhead-test/many',
}))

vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>()
  const names = Array.from({ length: FILES }, (_, i) => `f${String(i).padStart(6, '0')}.log.gz`)
  const isMany = (p: unknown): boolean => String(p).startsWith(DIR)
  const inode = new Map(names.map((name, i) => [`${DIR}/${name}`, i + 2]))
  return {
    ...fs,
    readdirSync: ((p: string, o: { withFileTypes?: boolean } | undefined) =>
      isMany(p)
        ? o?.withFileTypes === true
          ? names.map((name) =>
              Object.assign(Object.create(fs.Dirent.prototype) as import('node:fs').Dirent, {
                name,
                isSymbolicLink: () => false,
                isDirectory: () => false,
                isFile: () => true,
              }),
            )
          : names
        : fs.readdirSync(p, o as never)) as typeof fs.readdirSync,
    realpathSync: ((p: string, o: unknown) =>
      isMany(p) ? p : fs.realpathSync(p, o as never)) as typeof fs.realpathSync,
    statSync: ((p: string, o: unknown) =>
      isMany(p)
        ? Object.assign(Object.create(fs.Stats.prototype) as import('node:fs').Stats, {
            isDirectory: () => p === DIR,
            isFile: () => p !== DIR,
            // each name its own file (expandInputs reads each file once, by device and inode)
            dev: 1,
            ino: inode.get(p) ?? 1,
          })
        : fs.statSync(p, o as never)) as typeof fs.statSync,
  }
})

it('a folder of 200 000 files stands for all of them, sorted', async () => {
  const { expandInputs } = await import('../../src/cli/inputs.js')
  const out = expandInputs([DIR])
  expect(out.length).toBe(FILES)
  expect(out[0]).toBe(join(DIR, 'f000000.log.gz'))
  expect(out[FILES - 1]).toBe(join(DIR, `f${FILES - 1}.log.gz`))
})
