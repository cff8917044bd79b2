/**
 * @module A two-host estate shared by the host-target tests: `a` (role=web, IPv4) and `b`
 * (role=db, IPv4 and IPv6), and one rule web → db on tcp/5432 in a chosen enforcement mode.
 */
import { labelSet, type Inventory, type PolicySet } from '../../src/core/index.js'

export const lbl = (m: Record<string, string>) => ({
  kind: 'labels' as const,
  match: labelSet(m),
  expressions: [],
  global: false,
})
export const twoHosts: Inventory = {
  workloads: [
    { name: 'a', addresses: [{ ip: '10.9.0.1' }], labels: labelSet({ role: 'web' }) },
    {
      name: 'b',
      addresses: [{ ip: '10.9.0.2' }, { ip: '2001:db8::2' }],
      labels: labelSet({ role: 'db' }),
    },
  ],
  externals: [],
  labelRules: [],
}
export const webToDb = (mode: 'enforce' | 'monitor' | 'observe'): PolicySet => ({
  policies: [
    {
      name: 'p',
      owner: 'o',
      scope: labelSet(),
      file: 'p.yaml',
      rules: [
        {
          id: 'w2d',
          action: 'allow',
          emergency: false,
          from: [lbl({ role: 'web' })],
          to: [lbl({ role: 'db' })],
          services: [{ protocol: 6, ports: { lo: 5432, hi: 5432 } }],
        },
      ],
    },
  ],
  enforcement: [{ selector: { kind: 'any' }, mode }],
})
