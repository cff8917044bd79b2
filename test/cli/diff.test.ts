/**
 * `bulkhead diff OLD NEW` on test/fixtures/diff-estate (policy-old → policy, flows.csv):
 * golden text and Markdown, JSON and SARIF shapes, `--fail-on-impact`, bad paths, and OLD/NEW
 * read from git revisions of a temporary repository.
 */
import { gitIn } from '../helpers/process.js'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { fieldChangeText, type DiffOutput } from '../../src/cli/commands/diff.js'
import { findingFingerprint } from '../../src/cli/render/sarif.js'
import { cli } from '../helpers/cli.js'

const W = 'test/fixtures/diff-estate'
const OLD = `${W}/policy-old`
const NEW = `${W}/policy`
// NEW's rules with {app: shop, env: prod} enforced instead of monitored
const ENFORCE = `${W}/policy-enforce`
// where web-to-cart is in the NEW policy file (test/fixtures/diff-estate/policy/shop.yaml)
const WEB_TO_CART_LINE = 13
const AT = '2026-11-01T00:00:00Z'
const base = ['-w', W, '--at', AT]
const withFlows = [...base, '--flows', `${W}/flows.csv`]

describe('bulkhead diff on folders', () => {
  it('text golden, exit 0 without --fail-on-impact', async () => {
    const r = await cli('diff', OLD, NEW, ...withFlows)
    expect(r.code).toBe(0)
    await expect(r.stdout).toMatchFileSnapshot('../golden/policy/diff-estate.txt')
    // the malformed flow line is counted and reported, not fatal
    expect(r.stderr).toContain('bad-address 1')
  })
  it('Markdown golden opens with the summary line', async () => {
    const r = await cli('diff', OLD, NEW, ...withFlows, '-o', 'md')
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toMatch(/^⚠️ \*\*Bulkhead policy diff\*\* .*: 4 rule changes/)
    await expect(r.stdout).toMatchFileSnapshot('../golden/policy/diff-estate.md')
  })
  it('-o md is cut to --md-limit characters, with notes; the summary stays whole', async () => {
    const full = await cli('diff', OLD, NEW, ...withFlows, '-o', 'md', '--md-limit', '0')
    expect(full.stdout.length).toBeGreaterThan(1500)
    const r = await cli('diff', OLD, NEW, ...withFlows, '-o', 'md', '--md-limit', '1500')
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBeLessThanOrEqual(1500)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(full.stdout.split('\n')[0]) // the whole diff's counts
    expect(lines[2]).toBe(
      "This comment is cut to 1500 characters, GitHub's limit for a comment (`--md-limit`).",
    )
    // a code fence is closed before its note, and every line kept is one of the whole document's
    expect(lines.filter((l) => l.startsWith('```')).length % 2).toBe(0)
    const whole = new Set(full.stdout.split('\n'))
    const notes = lines.filter((l) => l.startsWith('… '))
    expect(notes.length).toBeGreaterThan(0)
    for (const l of lines) if (!notes.includes(l) && l !== lines[2]) expect(whole).toContain(l)
    // kept + left out = all, for the connectivity block
    const kept = lines.filter((l) => /^[-+] /.test(l)).length
    const cut = /… (\d+) connectivity lines? left out/.exec(r.stdout)
    const all = full.stdout.split('\n').filter((l) => /^[-+] /.test(l)).length
    expect(kept + Number(cut?.[1] ?? 0)).toBe(all)
    // the default is GitHub's 65 536: this small diff is whole
    const byDefault = await cli('diff', OLD, NEW, ...withFlows, '-o', 'md')
    expect(byDefault.stdout).toBe(full.stdout)
  })
  it('--fail-on-impact exits 2 when an observed allowed flow becomes blocked', async () => {
    expect((await cli('diff', OLD, NEW, ...withFlows, '--fail-on-impact')).code).toBe(2)
    // the reverse change only allows more of the observed traffic that is blocked today...
    const back = await cli('diff', NEW, OLD, ...withFlows, '--fail-on-impact', '-o', 'json')
    const d = JSON.parse(back.stdout) as DiffOutput
    expect(d.flows?.newlyBlocked).toBe(2) // cart -> psp-sandbox and cart -> dns tcp/53
    expect(back.code).toBe(2)
    // ...and a diff of a folder with itself has no impact
    const same = await cli('diff', NEW, NEW, ...withFlows, '--fail-on-impact', '-o', 'json')
    expect(same.code).toBe(0)
    expect(JSON.parse(same.stdout)).toMatchObject({
      rules: [],
      connlist: { added: [], removed: [] },
      flows: { newlyBlocked: 0, newlyAllowed: 0, flows: 7 },
    })
  })
  it('-o json|yaml count the malformed records of --flows files skipped while reading', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-skips-'))
    try {
      const flows = path.join(dir, 'flows.csv')
      writeFileSync(
        flows,
        `${readFileSync(`${W}/flows.csv`, 'utf8')}10.1.0.10,10.1.0.20,50009,99999,tcp,2026-10-30T12:00:00Z,2026-10-30T12:00:01Z,1,100\n`,
      )
      // the fixture's own file has one malformed record already
      const clean = JSON.parse(
        (await cli('diff', OLD, NEW, ...withFlows, '-o', 'json')).stdout,
      ) as DiffOutput
      expect(clean.flows?.readSkipped).toEqual({ 'bad-address': 1 })
      const args = ['diff', OLD, NEW, ...base, '--flows', flows]
      const d = JSON.parse((await cli(...args, '-o', 'json')).stdout) as DiffOutput
      expect(d.flows?.readSkipped).toEqual({ 'bad-address': 1, 'bad-port': 1 })
      const y = parse((await cli(...args, '-o', 'yaml')).stdout) as DiffOutput
      expect(y.flows?.readSkipped).toEqual({ 'bad-address': 1, 'bad-port': 1 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('-o yaml holds what -o json holds', async () => {
    const json = await cli('diff', OLD, NEW, ...withFlows, '-o', 'json')
    const yaml = await cli('diff', OLD, NEW, ...withFlows, '-o', 'yaml')
    expect(yaml.code).toBe(0)
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout))
  })
  it('-o json has rules, connlist and flows', async () => {
    const r = await cli('diff', OLD, NEW, ...withFlows, '-o', 'json')
    const d = JSON.parse(r.stdout) as DiffOutput
    expect(d.at).toBe('2026-11-01T00:00:00.000Z')
    expect(d.rules.map((c) => `${c.kind} ${c.id} ${c.fields.join('+')}`)).toEqual([
      'added cart-to-psp ',
      'changed dns services',
      'removed redis-admin ',
      'changed web-to-cart services+reason',
    ])
    // each line names the rule behind it: the old rule that allowed what is lost, the new rule
    // that allows what stays
    expect(d.connlist.removed).toContainEqual({
      src: 'shop/frontend[Deployment]',
      dst: 'shop/cart[Deployment]',
      conn: 'TCP 7070,8000-8100',
      by: 'shop-prod/web-to-cart',
    })
    expect(d.connlist.added).toContainEqual({
      src: 'shop/frontend[Deployment]',
      dst: 'shop/cart[Deployment]',
      conn: 'TCP 7070',
      by: 'shop-prod/web-to-cart',
    })
    expect(d.connlist.added.concat(d.connlist.removed).every((r) => r.by !== undefined)).toBe(true)
    expect(d.flows).toMatchObject({ flows: 7, newlyBlocked: 4, newlyAllowed: 2 })
    expect(d.flows?.edges[0]).toMatchObject({
      change: 'blocked',
      src: 'shop/frontend[Deployment]',
      dst: 'shop/cart[Deployment]',
      service: 'tcp/8080',
      flows: 3,
    })
    // times are instants, as in every verb's JSON (ms in the diff itself)
    expect(d.flows?.edges.every((e) => /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(e.firstSeen ?? ''))).toBe(
      true,
    )
  })
  it('-o sarif: a newly blocked flow is an error at the rule that allowed it', async () => {
    const r = await cli('diff', OLD, NEW, ...withFlows, '-o', 'sarif')
    expect(r.code).toBe(0)
    const log = JSON.parse(r.stdout)
    expect(log.version).toBe('2.1.0')
    const results = log.runs[0].results as {
      ruleId: string
      level: string
      message: { text: string }
      locations?: {
        physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } }
      }[]
    }[]
    const blocked = results.filter((x) => x.ruleId === 'diff/flow-blocked')
    expect(blocked).toHaveLength(2)
    expect(blocked.every((x) => x.level === 'error')).toBe(true)
    const redis = blocked.find((x) =>
      x.locations?.[0]?.physicalLocation.artifactLocation.uri.endsWith('policy-old/shop.yaml'),
    )
    expect(redis?.locations?.[0]?.physicalLocation.region?.startLine).toBe(28) // redis-admin in policy-old
    expect(results.filter((x) => x.ruleId.startsWith('diff/rule-'))).toHaveLength(4)
    // every result has a location (GitHub code scanning requires one); a connlist line is at the
    // rule behind it (web-to-cart, whose services changed)
    expect(results.every((x) => x.locations?.length === 1)).toBe(true)
    const at = (x: (typeof results)[number] | undefined) => [
      x?.locations?.[0]?.physicalLocation.artifactLocation.uri,
      x?.locations?.[0]?.physicalLocation.region?.startLine,
    ]
    const removed = results.filter((x) => x.ruleId === 'diff/connection-removed')
    const cart = removed.find((x) => x.message.text.includes('shop/cart[Deployment] : TCP 7070,'))
    expect(at(cart)).toEqual([`${NEW}/shop.yaml`, WEB_TO_CART_LINE])
    // a line lost with a removed rule is at that rule in the OLD folder
    const lost = removed.find((x) => x.message.text.includes('(rule shop-prod/redis-admin)'))
    expect(at(lost)).toEqual([`${OLD}/shop.yaml`, 28])
  })
  it('a flow its observer had already rejected is no impact, in every rendering', async () => {
    // redis-admin is removed: the bastion's redis flow was allowed by OLD and is denied by NEW,
    // but a firewall had refused it where it was observed, so enforcing NEW changes nothing
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-rejected-'))
    try {
      const file = path.join(dir, 'rejected.csv')
      writeFileSync(
        file,
        'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action\n' +
          '10.9.1.1,10.1.0.30,40000,6379,tcp,2026-10-29T08:00:00Z,2026-10-29T08:00:01Z,1,60,REJECT\n',
      )
      const args = [OLD, NEW, ...base, '--flows', file, '--fail-on-impact']
      const json = await cli('diff', ...args, '-o', 'json')
      expect(json.code).toBe(0)
      const d = JSON.parse(json.stdout) as DiffOutput
      expect(d.flows).toMatchObject({ flows: 1, newlyBlocked: 0, alreadyRejected: 1 })
      expect(d.flows?.edges).toEqual([
        expect.objectContaining({ change: 'blocked', dstPort: 6379, flows: 1, alreadyRejected: 1 }),
      ])
      const text = await cli('diff', ...args)
      expect(text.code).toBe(0)
      expect(text.stdout).toContain(
        '0 observed flows newly denied on 0 edges (1 more already rejected where observed)',
      )
      expect(text.stdout).toMatch(
        /DENIED .* tcp\/6379: 1 flow, .*; 1 already rejected where observed\)/,
      )
      const md = await cli('diff', ...args, '-o', 'md')
      expect(md.stdout.startsWith('**Bulkhead policy diff**')).toBe(true) // no ⚠️
      const sarif = JSON.parse((await cli('diff', ...args, '-o', 'sarif')).stdout)
      const flowResults = (sarif.runs[0].results as { ruleId: string; level: string }[]).filter(
        (x) => x.ruleId.startsWith('diff/flow-'),
      )
      expect(flowResults).toEqual([
        expect.objectContaining({ ruleId: 'diff/flow-already-rejected', level: 'note' }),
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('without flows there is no flow section', async () => {
    const r = await cli('diff', OLD, NEW, ...base, '-o', 'json')
    expect(JSON.parse(r.stdout).flows).toBeUndefined()
    // --fail-on-impact with no flows to judge says so: it checked nothing
    const gate = await cli('diff', OLD, NEW, ...base, '--fail-on-impact')
    expect(gate.code).toBe(0)
    expect(gate.stderr).toContain('warning diff/no-flows')
  })
  it('diff/no-flows names what to do for the input it had', async () => {
    const line = (r: { stderr: string }): string =>
      r.stderr.split('\n').find((l) => l.includes('diff/no-flows')) ?? ''
    // --no-flows was asked for: no advice to ingest or widen a window
    const asked = line(await cli('diff', OLD, NEW, ...base, '--no-flows', '--fail-on-impact'))
    expect(asked).toContain('--no-flows was given')
    expect(asked).toContain('leave out --no-flows')
    expect(asked).not.toContain('--since')
    // files that hold no flow: --since/--until, which --flows refuses, are not advised
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-noflows-'))
    try {
      const empty = path.join(dir, 'empty.csv')
      writeFileSync(empty, 'src_ip,dst_ip,dst_port,protocol\n')
      const files = line(await cli('diff', OLD, NEW, ...base, '--flows', empty, '--fail-on-impact'))
      expect(files).toContain('no flow was read from the files')
      expect(files).not.toContain('--since')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it.each([
    [[`${W}/nope`, NEW], 'io/not-found'],
    [[`${W}/flows.csv`, NEW], 'diff/not-a-folder'],
    [[OLD, NEW, '-o', 'html'], 'cli/usage'],
    [[OLD, NEW, '--flows', `${W}/flows.csv`, '--since', '2026-10-01'], 'cli/usage'],
    [[OLD, NEW, '--flows', `${W}/missing.csv`], 'io/not-found'],
    [[OLD, 'test/fixtures/bad-workspace-yaml'], 'yaml/syntax'], // a folder whose YAML is not policy
  ])('bad input %j exits 1 with %s', async (args, code) => {
    const r = await cli('diff', ...args, ...base)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(code)
    // a policy source that is no folder says what to give instead
    if (code === 'diff/not-a-folder') expect(r.stderr).toContain('HEAD~1:policy')
  })
  it('an invalid OLD policy is an error with its location', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-bad-'))
    try {
      writeFileSync(
        path.join(dir, 'p.yaml'),
        'apiVersion: bulkhead.dev/v1\nkind: Policy\nmetadata: { name: x, owner: o }\nrules:\n  - id: a\n    from: [{ role: web }]\n    to: [{ role: nosuch }]\n    ports: [tcp/99999]\n',
      )
      const r = await cli('diff', dir, NEW, ...base)
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('policy/port-out-of-range')
      expect(r.stderr).toMatch(/p\.yaml:8:\d+/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('a warning both policy sets share is printed once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-warn-'))
    try {
      writeFileSync(
        path.join(dir, 'p.yaml'),
        'apiVersion: bulkhead.dev/v1\nkind: Policy\nmetadata: { name: x, owner: o }\nrules:\n  - id: a\n    from: [{ role: web }]\n    to: [{ role: nosuch }]\n    ports: [tcp/80]\n',
      )
      const r = await cli('diff', dir, dir, ...base)
      expect(r.code).toBe(0)
      expect(r.stderr.match(/policy\/selector-matches-nothing/g)).toHaveLength(1)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('bulkhead diff: a deny that has no effect changes no connectivity (s35 review)', () => {
  // ICMP errors (icmp/3) are allowed whatever the rules (`related`), so adding a deny of them
  // changes no verdict and must change no connlist line
  const policy = (extra: string): string => `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: shop-prod, owner: team-shop }
scope: { app: shop, env: prod }
rules:
  - { id: ping, from: [{ role: web }], to: [{ role: api }], ports: [icmp] }
${extra}`
  it('adding a deny of icmp/3 between workloads that ping is no connectivity change', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-related-'))
    try {
      for (const [side, extra] of [
        ['a', ''],
        [
          'b',
          '  - { id: no-unreach, action: deny, from: [{ role: web }], to: [{ role: api }], ports: [icmp/3] }\n',
        ],
      ] as const) {
        cpSync(`${NEW}/enforcement.yaml`, path.join(dir, side, 'enforcement.yaml'))
        writeFileSync(path.join(dir, side, 'shop.yaml'), policy(extra))
      }
      const r = await cli('diff', `${dir}/a`, `${dir}/b`, ...base, '--no-flows', '-o', 'json')
      expect(r.code).toBe(0)
      const d = JSON.parse(r.stdout) as DiffOutput
      expect(d.connlist).toEqual({ added: [], removed: [] })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('bulkhead diff: what a changed rule changed, in the policy file words', () => {
  let dir = ''
  const head = `apiVersion: bulkhead.dev/v1
kind: Policy
metadata: { name: shop-prod, owner: team-shop }
scope: { app: shop, env: prod }
rules:
`
  const LONG =
    'Checkout calls the cart for the basket, the wish list and the order history pages of every shop'
  const OLD_RULES = `  - id: web-to-cart
    from: [{ role: web }]
    to: [{ role: api }]
    ports: [tcp/443]
    reason: Checkout
    expires: 2026-12-31
  - id: many
    from: [{ role: web }]
    to: [{ role: db }]
    ports: [tcp/1, tcp/2, tcp/3, tcp/4, tcp/5, tcp/6, tcp/7]
    reason: Checkout
`
  const NEW_RULES = `  - id: web-to-cart
    action: deny
    from: [{ role: web, env: prod }]
    to: [{ role: api }]
    ports: [tcp/443, tcp/8443]
    reason: Checkout
    expires: 2027-03-31
  - id: many
    from: [{ role: web }]
    to: [{ role: db }]
    ports: [tcp/1, tcp/2, tcp/3, tcp/4, tcp/5, tcp/6, tcp/7, tcp/8443]
    reason: ${LONG}
`
  const args = (): string[] => [`${dir}/a`, `${dir}/b`, ...base, '--no-flows']
  // places are printed relative to the current folder
  const rel = (): string => path.relative(process.cwd(), dir)
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-fields-'))
    for (const [side, rules] of [
      ['a', OLD_RULES],
      ['b', NEW_RULES],
    ] as const) {
      cpSync(`${NEW}/enforcement.yaml`, path.join(dir, side, 'enforcement.yaml'))
      writeFileSync(path.join(dir, side, 'shop.yaml'), head + rules)
    }
  })
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  // expected by hand from the two files: the file's key `ports` (the model's `services`),
  // selectors in flow style (labels in the order the model keeps them, sorted), an expiry as the
  // date the file gives; a list past 5 items ends with its count and names what changed in it;
  // text past 80 characters is cut with its length
  const WEB = [
    'action: allow → deny',
    'from: {role: web} → {env: prod, role: web}',
    'ports: tcp/443 → tcp/443,tcp/8443',
    'expires: 2026-12-31 → 2027-03-31',
  ]
  const MANY = [
    'ports: tcp/1,tcp/2,tcp/3,tcp/4,tcp/5,… (7 in all) → tcp/1,tcp/2,tcp/3,tcp/4,tcp/5,… (8 in all) (+tcp/8443)',
    'reason: Checkout → Checkout calls the cart for the basket, the wish list and the order history pag… (95 chars)',
  ]
  it('text names each changed field with its old and new value', async () => {
    const r = await cli('diff', ...args())
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    const at = lines.indexOf('Rules:')
    expect(lines.slice(at, at + 10)).toEqual([
      'Rules:',
      `  ~ shop-prod/many changed: ports, reason  (${rel()}/b/shop.yaml:13:5)`,
      ...MANY.map((l) => `      ${l}`),
      `  ~ shop-prod/web-to-cart changed: action, from, ports, expires  (${rel()}/b/shop.yaml:6:5)`,
      ...WEB.map((l) => `      ${l}`),
      '',
    ])
    expect(r.stdout).not.toContain('services')
  })
  it('Markdown puts them in the rule row, values as code', async () => {
    const r = await cli('diff', ...args(), '-o', 'md')
    const row = r.stdout
      .split('\n')
      .find((l) => l.startsWith('| changed | `shop-prod/web-to-cart`'))
    expect(row).toBe(
      '| changed | `shop-prod/web-to-cart` | `action`: `allow` → `deny`<br>' +
        '`from`: `{role: web}` → `{env: prod, role: web}`<br>' +
        '`ports`: `tcp/443` → `tcp/443,tcp/8443`<br>' +
        `\`expires\`: \`2026-12-31\` → \`2027-03-31\` | team-shop | ${rel()}/b/shop.yaml:6:5 |`,
    )
    expect(r.stdout.split('\n')[4]).toBe('| change | rule | what changed | owner | where |')
  })
  it('-o json keeps fields and adds changes with structured old and new', async () => {
    const d = JSON.parse((await cli('diff', ...args(), '-o', 'json')).stdout) as DiffOutput
    const web = d.rules.find((r) => r.id === 'web-to-cart')
    expect(web?.fields).toEqual(['action', 'from', 'services', 'expires'])
    expect(web?.changes).toEqual([
      { field: 'action', old: 'allow', new: 'deny' },
      { field: 'from', old: [{ role: 'web' }], new: [{ env: 'prod', role: 'web' }] },
      { field: 'ports', old: ['tcp/443'], new: ['tcp/443', 'tcp/8443'] },
      // the instant the rule stops applying: the day after the date the file gives
      { field: 'expires', old: '2027-01-01T00:00:00.000Z', new: '2027-04-01T00:00:00.000Z' },
    ])
    const many = d.rules.find((r) => r.id === 'many')
    expect(many?.changes[1]).toEqual({ field: 'reason', old: 'Checkout', new: LONG })
  })
  it('an expiry that has passed at --at is marked, as the rule is then absent', async () => {
    // `expires: 2026-12-31` holds through that UTC day: at 2027-01-01T00:00Z it has passed
    const [a, b] = args()
    const line = async (at: string, ...more: string[]): Promise<string | undefined> =>
      (await cli('diff', a ?? '', b ?? '', '-w', W, '--at', at, '--no-flows', ...more)).stdout
        .split('\n')
        .find((l) => /expires`?: /.test(l))
    expect(await line('2026-12-31T23:59:59Z')).toBe('      expires: 2026-12-31 → 2027-03-31')
    expect(await line('2027-01-01T00:00:00Z')).toBe(
      '      expires: 2026-12-31 (passed) → 2027-03-31',
    )
    expect(await line('2027-04-01T00:00:00Z', '-o', 'md')).toContain(
      '`expires`: `2026-12-31` **(passed)** → `2027-03-31` **(passed)** |',
    )
  })
  it('-o sarif: the message of a changed rule carries the same text', async () => {
    const log = JSON.parse((await cli('diff', ...args(), '-o', 'sarif')).stdout)
    const texts = (log.runs[0].results as { ruleId: string; message: { text: string } }[])
      .filter((x) => x.ruleId === 'diff/rule-changed')
      .map((x) => x.message.text)
    expect(texts).toEqual([
      `rule shop-prod/many changed (${MANY.join('; ')})`,
      `rule shop-prod/web-to-cart changed (${WEB.join('; ')})`,
    ])
  })
})

describe('bulkhead diff of an Enforcement change (monitor → enforce)', () => {
  // Worked out by hand from the fixture: every workload is {app: shop, env: prod} (5 of them,
  // old-batch too). Under NEW's rules the denied flows are frontend -> cart tcp/8080 (3) and
  // 10.9.1.1 -> redis tcp/6379 (1): would-be-blocked under monitor, blocked under enforce.
  // frontend -> cart tcp/7070, cart -> psp-sandbox and cart -> dns tcp/53 are allowed.
  const ENTRY = `${ENFORCE}/enforcement.yaml`
  it('--fail-on-impact exits 2 when flows that were only reported become blocked', async () => {
    const r = await cli('diff', NEW, ENFORCE, ...withFlows, '--fail-on-impact')
    expect(r.code).toBe(2)
    // ... and not the other way round: enforce → monitor drops nothing more
    expect((await cli('diff', ENFORCE, NEW, ...withFlows, '--fail-on-impact')).code).toBe(0)
    // ... nor when the flows that become blocked had all been rejected where observed
    const dir = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-enforce-'))
    try {
      const file = path.join(dir, 'rejected.csv')
      writeFileSync(
        file,
        'src_ip,dst_ip,src_port,dst_port,protocol,start,end,packets,bytes,action\n' +
          '10.9.1.1,10.1.0.30,40000,6379,tcp,2026-10-29T08:00:00Z,2026-10-29T08:00:01Z,1,60,REJECT\n',
      )
      const rejected = await cli('diff', NEW, ENFORCE, ...base, '--flows', file, '--fail-on-impact')
      expect(rejected.code).toBe(0)
      expect(rejected.stdout).toContain(
        '1 observed flow changing outcome on 1 edge (0 newly blocked, 1 more already rejected where observed)',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  it('text names the entry, the workloads and the flows', async () => {
    const r = await cli('diff', NEW, ENFORCE, ...withFlows)
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(
      `${NEW} → ${ENFORCE}: 0 rule changes (0 added, 0 removed, 0 changed); connectivity +0 −0 lines; ` +
        'enforcement: 1 entry change, 5 workloads changing mode; ' +
        '0 observed flows newly denied on 0 edges, 0 newly allowed on 0 edges (of 7 replayed); ' +
        '4 observed flows changing outcome on 2 edges (4 newly blocked)',
    )
    const at = lines.indexOf('Enforcement:')
    expect(lines.slice(at, at + 4)).toEqual([
      'Enforcement:',
      `  ~ #1 {app=shop,env=prod}: monitor → enforce  (${ENTRY}:4:5)`,
      '  5 workloads changing mode: monitor → enforce 5',
      '    monitor → enforce: 5 workloads (now #1 {app=shop,env=prod}, before #1 {app=shop,env=prod}): ' +
        'old-batch, shop/cart[Deployment], shop/dns, shop/frontend[Deployment], shop/redis[StatefulSet]',
    ])
    const fl = lines.indexOf('Observed flows whose outcome changes (same verdict):')
    expect(lines.slice(fl, fl + 3)).toEqual([
      'Observed flows whose outcome changes (same verdict):',
      '  BLOCKED shop/frontend[Deployment] -> shop/cart[Deployment] tcp/8080: 3 flows, denied by default, would-be-blocked → blocked (#1 {app=shop,env=prod}: enforce)',
      '  BLOCKED 10.9.1.0/24 -> shop/redis[StatefulSet] tcp/6379: 1 flow, denied by default, would-be-blocked → blocked (#1 {app=shop,env=prod}: enforce)',
    ])
  })
  it('-o json and -o md carry the same', async () => {
    const d = JSON.parse(
      (await cli('diff', NEW, ENFORCE, ...withFlows, '-o', 'json')).stdout,
    ) as DiffOutput
    expect(d.enforcement.entries).toEqual([
      expect.objectContaining({
        kind: 'changed',
        fields: ['mode'],
        old: expect.objectContaining({ position: 1, mode: 'monitor' }),
        new: expect.objectContaining({
          position: 1,
          mode: 'enforce',
          location: expect.objectContaining({ file: ENTRY, line: 4, column: 5 }),
        }),
      }),
    ])
    expect(d.enforcement.transitions).toEqual([{ old: 'monitor', new: 'enforce', workloads: 5 }])
    expect(d.flows).toMatchObject({
      flows: 7,
      newlyBlocked: 0,
      outcomeChanges: { flows: 4, newlyDropped: 4, alreadyRejected: 0 },
    })
    expect(
      d.flows?.outcomeChanges.edges.map((e) => [
        e.src,
        e.service,
        e.flows,
        e.firstSeen,
        e.lastSeen,
      ]),
    ).toEqual([
      [
        'shop/frontend[Deployment]',
        'tcp/8080',
        3,
        '2026-10-30T10:00:00.000Z',
        '2026-10-30T12:00:01.000Z',
      ],
      ['10.9.1.0/24', 'tcp/6379', 1, '2026-10-29T08:00:00.000Z', '2026-10-29T08:00:01.000Z'],
    ])
    const md = (await cli('diff', NEW, ENFORCE, ...withFlows, '-o', 'md')).stdout
    expect(md.startsWith('⚠️ **Bulkhead policy diff**')).toBe(true)
    expect(md).toContain('### Enforcement changes')
    expect(md).toContain(
      `| changed (mode) | #1 \`{app=shop,env=prod}\` | monitor → enforce | ${ENTRY}:4:5 |`,
    )
    expect(md).toContain(
      '| **blocked** | 10.9.1.0/24 | shop/redis[StatefulSet] | tcp/6379 | 1 | 2026-10-29T08:00:00.000Z | 2026-10-29T08:00:01.000Z | denied by default | would-be-blocked → blocked | #1 {app=shop,env=prod}: enforce |',
    )
  })
  it('-o sarif: every result has a fingerprint of what it is about, none shared', async () => {
    for (const [a, b] of [
      [OLD, NEW],
      [NEW, ENFORCE],
      [OLD, ENFORCE],
    ] as const) {
      const log = JSON.parse((await cli('diff', a, b, ...withFlows, '-o', 'sarif')).stdout)
      const results = log.runs[0].results as {
        ruleId: string
        message: { text: string }
        partialFingerprints?: Record<string, string>
      }[]
      expect(results.length).toBeGreaterThan(3)
      const fps = results.map((x) => x.partialFingerprints?.['bulkheadFindingKey/v1'])
      for (const fp of fps) expect(fp).toMatch(/^[0-9a-f]{32}$/)
      expect(new Set(fps).size).toBe(fps.length)
    }
    // the key of an edge is the edge: the same fingerprint from the writer's own function
    const log = JSON.parse((await cli('diff', OLD, NEW, ...withFlows, '-o', 'sarif')).stdout)
    const redis = (
      log.runs[0].results as {
        ruleId: string
        message: { text: string }
        partialFingerprints: Record<string, string>
      }[]
    ).find((x) => x.ruleId === 'diff/flow-blocked' && x.message.text.includes('tcp/6379'))!
    const edge = redis.message.text.slice(0, redis.message.text.indexOf(':'))
    expect(edge).toMatch(/ -> .* tcp\/6379$/)
    expect(redis.partialFingerprints['bulkheadFindingKey/v1']).toBe(
      findingFingerprint('diff/flow-blocked', edge),
    )
  })
  it('-o sarif puts every Enforcement finding at the entry', async () => {
    const log = JSON.parse((await cli('diff', NEW, ENFORCE, ...withFlows, '-o', 'sarif')).stdout)
    const results = log.runs[0].results as {
      ruleId: string
      level: string
      locations: {
        physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } }
      }[]
    }[]
    expect(results.map((x) => [x.ruleId, x.level]).sort()).toEqual([
      ['diff/enforcement-changed', 'note'],
      ['diff/flow-enforced', 'error'],
      ['diff/flow-enforced', 'error'],
      ['diff/mode-changed', 'warning'],
    ])
    for (const x of results) {
      expect(x.locations[0]?.physicalLocation.artifactLocation.uri).toBe(ENTRY)
      expect(x.locations[0]?.physicalLocation.region?.startLine).toBe(4)
    }
  })
  it('a flow whose verdict and outcome both change is counted once, as a verdict change', async () => {
    // OLD allowed frontend -> cart tcp/8080 and monitored; NEW denies it and enforces
    const d = JSON.parse(
      (await cli('diff', OLD, ENFORCE, ...withFlows, '-o', 'json')).stdout,
    ) as DiffOutput
    // as OLD → NEW (newly denied: 3 x tcp/8080, 1 x redis), now blocked instead of would-be-blocked
    expect(d.flows).toMatchObject({ flows: 7, newlyBlocked: 4, newlyAllowed: 2 })
    expect(d.flows?.edges.filter((e) => e.change === 'blocked').map((e) => e.new.outcome)).toEqual([
      'blocked',
      'blocked',
    ])
    expect(d.flows?.outcomeChanges).toMatchObject({ flows: 0, edges: [] })
  })
})

describe('bulkhead diff on stored flows', () => {
  it('--since/--until replay the workspace store', async () => {
    const ws = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-store-'))
    try {
      cpSync(W, ws, { recursive: true })
      const ingest = await cli('ingest', path.join(ws, 'flows.csv'), '-w', ws)
      expect(ingest.code).toBe(0)
      const args = [
        path.join(ws, 'policy-old'),
        path.join(ws, 'policy'),
        '-w',
        ws,
        '--at',
        AT,
        '-o',
        'json',
      ]
      const all = JSON.parse(
        (await cli('diff', ...args, '--since', '2026-10-01')).stdout,
      ) as DiffOutput
      expect(all.flows).toMatchObject({ flows: 7, newlyBlocked: 4, newlyAllowed: 2 })
      // the 10.9.1.1 -> redis flow of 2026-10-29 is before --since
      const late = await cli('diff', ...args, '--since', '2026-10-30', '--fail-on-impact')
      expect(JSON.parse(late.stdout).flows).toMatchObject({ flows: 6, newlyBlocked: 3 })
      expect(late.code).toBe(2)
      const early = await cli('diff', ...args, '--until', '2026-10-30', '--fail-on-impact')
      expect(JSON.parse(early.stdout).flows).toMatchObject({ flows: 1, newlyBlocked: 1 })
      // without --flows or a window the whole store is replayed, as simulate and lint do
      const plain = JSON.parse((await cli('diff', ...args)).stdout) as DiffOutput
      expect(plain.flows).toMatchObject({ flows: 7, newlyBlocked: 4 })
      const none = JSON.parse((await cli('diff', ...args, '--no-flows')).stdout) as DiffOutput
      expect(none.flows).toBeUndefined()
      const gate = await cli('diff', ...args, '--fail-on-impact')
      expect(JSON.parse(gate.stdout).flows).toMatchObject({ flows: 7, newlyBlocked: 4 })
      expect(gate.code).toBe(2)
      // a window that holds no flows checks nothing: a warning, not a silent pass
      const empty = await cli('diff', ...args, '--since', '2030-01-01', '--fail-on-impact')
      expect(empty.code).toBe(0)
      expect(empty.stderr).toContain('warning diff/no-flows')
    } finally {
      rmSync(ws, { recursive: true, force: true })
    }
  })
  it('--since without a store is a clear error', async () => {
    const r = await cli('diff', OLD, NEW, ...base, '--since', '2026-10-01')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('io/not-found')
  })
})

describe('bulkhead diff on git revisions', () => {
  let repo = ''
  const git = (...args: string[]): void => {
    gitIn(repo)(...args)
  }
  beforeAll(() => {
    repo = mkdtempSync(path.join(tmpdir(), 'bulkhead-diff-git-'))
    git('init', '-q')
    cpSync(`${W}/bulkhead.yaml`, path.join(repo, 'ws/bulkhead.yaml'))
    cpSync(`${W}/inventory`, path.join(repo, 'ws/inventory'), { recursive: true })
    cpSync(OLD, path.join(repo, 'ws/policy'), { recursive: true })
    git('add', '.')
    git('commit', '-q', '-m', 'old')
    rmSync(path.join(repo, 'ws/policy'), { recursive: true })
    cpSync(NEW, path.join(repo, 'ws/policy'), { recursive: true })
    git('add', '-A')
    git('commit', '-q', '-m', 'new')
  })
  afterAll(() => {
    if (repo) rmSync(repo, { recursive: true, force: true })
  })

  const shape = (d: DiffOutput): unknown => ({
    rules: d.rules.map((r) => [r.kind, r.policy, r.id, r.fields]),
    connlist: d.connlist,
  })

  it('HEAD~1:path and HEAD:path give the same diff as the folders', async () => {
    const folders = JSON.parse(
      (await cli('diff', OLD, NEW, ...base, '-o', 'json')).stdout,
    ) as DiffOutput
    const ws = path.join(repo, 'ws')
    for (const [o, n] of [
      ['HEAD~1:ws/policy', 'HEAD:ws/policy'],
      ['HEAD~1:./policy', path.join(ws, 'policy')],
    ] as const) {
      const r = await cli('diff', o, n, '-w', ws, '--at', AT, '-o', 'json')
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(shape(JSON.parse(r.stdout) as DiffOutput)).toEqual(shape(folders))
    }
    const text = await cli('diff', 'HEAD~1:ws/policy', 'HEAD:ws/policy', '-w', ws, '--at', AT)
    expect(text.stdout).toContain(
      '  - shop-prod/redis-admin removed  (HEAD~1:ws/policy/shop.yaml:28:5)',
    )
    // SARIF locations are repository paths, without the revision
    const sarif = await cli(
      'diff',
      'HEAD~1:ws/policy',
      'HEAD:ws/policy',
      '-w',
      ws,
      '--at',
      AT,
      '-o',
      'sarif',
    )
    const uris = (
      JSON.parse(sarif.stdout).runs[0].results as {
        locations: { physicalLocation: { artifactLocation: { uri: string } } }[]
      }[]
    ).map((x) => x.locations[0]?.physicalLocation.artifactLocation.uri)
    expect(uris.length).toBeGreaterThan(0)
    expect(uris.every((u) => u === 'ws/policy/shop.yaml')).toBe(true)
    // a rule of the OLD revision is named by its old place and put at its file, not at a line
    // that in the working tree holds another rule
    const results = JSON.parse(sarif.stdout).runs[0].results as {
      message: { text: string }
      locations: { physicalLocation: { region?: { startLine: number } } }[]
    }[]
    const removed = results.find((x) => x.message.text.startsWith('rule shop-prod/redis-admin'))
    expect(removed?.message.text).toContain('(at HEAD~1:ws/policy/shop.yaml:28:5)')
    expect(removed?.locations[0]?.physicalLocation.region).toBeUndefined()
    // NEW's rules keep their lines
    const cart = results.find((x) => x.message.text.startsWith('rule shop-prod/web-to-cart'))
    expect(cart?.locations[0]?.physicalLocation.region?.startLine).toBe(WEB_TO_CART_LINE)
  })
  it('a bad revision or a path that is not a folder is a clear error', async () => {
    const ws = path.join(repo, 'ws')
    const bad = await cli('diff', 'no-such-rev:ws/policy', 'HEAD:ws/policy', '-w', ws, '--at', AT)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('diff/bad-revision')
    const missing = await cli('diff', 'HEAD:ws/nothing', 'HEAD:ws/policy', '-w', ws, '--at', AT)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('diff/bad-revision')
    const file = await cli('diff', 'HEAD:ws/bulkhead.yaml', 'HEAD:ws/policy', '-w', ws, '--at', AT)
    expect(file.code).toBe(1)
    expect(file.stderr).toContain('diff/not-a-folder')
  })
  it('REV:path of a workspace in a subfolder: the hint names REV:./path, not the path that failed', async () => {
    // git reads REV:policy from the repository root; the workspace is ws/ of the repository
    const ws = path.join(repo, 'ws')
    const r = await cli('diff', 'HEAD~1:policy', 'HEAD:./policy', '-w', ws, '--at', AT)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('diff/bad-revision')
    expect(r.stderr).toContain('write HEAD~1:./policy (or HEAD~1:ws/policy)')
    // a path that is in no folder keeps the general hint
    const none = await cli('diff', 'HEAD~1:nothing', 'HEAD:./policy', '-w', ws, '--at', AT)
    expect(none.stderr).toContain('such as HEAD~1:policy')
  })
})

describe('a changed list field whose items are long', () => {
  const AT = '2026-11-24T00:00:00.000Z'
  const sel = (n: number) => ({
    matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev', 'test', `stage-${n}`] }],
    role: 'web',
  })
  it('a one-item list on both sides adds no (+ −) part: it would repeat both values', () => {
    const t = fieldChangeText({ field: 'from', old: [sel(1)], new: [sel(2)] }, AT)
    expect(t).toMatch(
      /^from: \{matchExpressions: .*… \(\d+ chars\) → \{matchExpressions: .*… \(\d+ chars\)$/,
    )
  })
  it('the items of the (+ −) part are cut as the values are', () => {
    const old = [1, 2, 3, 4, 5, 6].map(sel)
    const t = fieldChangeText({ field: 'from', old, new: [...old, sel(7)] }, AT)
    const delta = /\((\+.*)\)$/.exec(t)?.[1]
    expect(delta).toMatch(/^\+\{matchExpressions: .*… \(\d+ chars\)$/)
    expect((delta ?? '').length).toBeLessThanOrEqual(81 + ' (100 chars)'.length)
  })
})
