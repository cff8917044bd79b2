/**
 * `recommendationFiles` renders the policy files one at a time (the CLI writes each before the
 * next is rendered, so that the files of a large estate are never all in memory), in the order
 * and with the text of `renderRecommendation`.
 */
import { describe, expect, it } from 'vitest'
import { labelSet, type Policy } from '../../src/core/index.js'
import { recommendationFiles, renderRecommendation } from '../../src/recommend/index.js'

const policy = (name: string): Policy => ({
  name,
  owner: 'o',
  scope: labelSet({ app: name }),
  file: `${name}.yaml`,
  rules: [
    {
      id: `${name}-r`,
      action: 'allow',
      from: [{ kind: 'workload', name: `${name}-1`, global: false }],
      to: [{ kind: 'any' }],
      services: [{ protocol: 6, ports: { lo: 443, hi: 443 } }],
      emergency: false,
    },
  ],
})

describe('recommendationFiles', () => {
  it('yields the files of renderRecommendation, sorted by file name, with their comments', () => {
    const result = {
      policies: [policy('web'), policy('api'), policy('db')],
      comments: new Map([['db', new Map([['db-r', 'pattern daily']])]]),
    }
    const files = [...recommendationFiles(result)]
    expect(files.map(([f]) => f)).toEqual(['api.yaml', 'db.yaml', 'web.yaml'])
    expect(files).toEqual([...renderRecommendation(result)])
    expect(files[1]?.[1]).toContain('  # pattern daily\n  - id: db-r\n')
  })

  it('renders a file only when it is asked for', () => {
    // the second policy's rules cannot be read: rendering it throws
    const broken = { ...policy('web') }
    Object.defineProperty(broken, 'rules', {
      get: () => {
        throw new Error('rendered too early')
      },
    })
    const files = recommendationFiles({ policies: [policy('api'), broken], comments: new Map() })
    const first = files.next()
    expect(first.done).toBe(false)
    expect(first.value?.[0]).toBe('api.yaml')
    expect(() => files.next()).toThrow('rendered too early')
  })
})
