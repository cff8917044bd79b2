import { describe, expect, it } from 'vitest'
import { openDuckDbStore } from '../../src/store/index.js'

describe('FlowStore.loadTempTable (used by discover)', () => {
  it('loads_joins_replaces_and_drops_a_temporary_table', async () => {
    const s = await openDuckDbStore(':memory:')
    try {
      const cols = [
        { name: 'ip', type: 'VARCHAR' },
        { name: 'from_ms', type: 'BIGINT' },
      ] as const
      await s.loadTempTable('tmp_t', cols, [
        ['10.0.0.1', -8_640_000_000_000_000],
        ['10.0.0.2', null],
      ])
      expect(await s.query('SELECT ip, from_ms FROM tmp_t ORDER BY ip')).toEqual([
        { ip: '10.0.0.1', from_ms: -8_640_000_000_000_000 },
        { ip: '10.0.0.2', from_ms: null },
      ])
      // joinable with flows, which it does not shadow
      expect(
        await s.query('SELECT count(*) AS n FROM flows JOIN tmp_t ON flows.src = tmp_t.ip'),
      ).toEqual([{ n: 0 }])
      await s.loadTempTable('tmp_t', cols, [['10.0.0.3', 1]])
      expect(await s.query('SELECT count(*) AS n FROM tmp_t')).toEqual([{ n: 1 }])
      await s.dropTempTable('tmp_t')
      await expect(s.query('SELECT * FROM tmp_t')).rejects.toThrow()
      await s.dropTempTable('tmp_t') // nothing to drop: no error
    } finally {
      await s.close()
    }
  })

  it('rejects_bad_names_columns_and_values', async () => {
    const s = await openDuckDbStore(':memory:')
    try {
      const col = [{ name: 'x', type: 'BIGINT' }] as const
      await expect(s.loadTempTable('flows', col, [])).rejects.toThrow(RangeError)
      await expect(s.loadTempTable('tmp_x; DROP TABLE flows', col, [])).rejects.toThrow(RangeError)
      await expect(s.loadTempTable('tmp_x', [{ name: 'a b', type: 'BIGINT' }], [])).rejects.toThrow(
        RangeError,
      )
      await expect(s.loadTempTable('tmp_x', col, [[1.5]])).rejects.toThrow(RangeError)
      await expect(s.loadTempTable('tmp_x', col, [['1']])).rejects.toThrow(RangeError)
      await expect(s.loadTempTable('tmp_x', col, [[1, 2]])).rejects.toThrow(RangeError)
      expect(await s.count()).toBe(0)
    } finally {
      await s.close()
    }
  })
})
