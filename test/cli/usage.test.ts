/**
 * The command line's own checks (src/cli/usage.ts): each option value and argument is parsed and
 * checked once, by commander's `argParser`, before the workspace is read, and the action gets the
 * parsed value; every usage error is `cli/usage` (`k8s eval`'s `<service>`: `k8s/bad-connection`,
 * its code before), all of them at once.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { buildProgram, run } from '../../src/cli/main.js'
import { cli } from '../helpers/cli.js'

const tmp = mkdtempSync(join(tmpdir(), 'bulkhead-usage-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/**
 * Wraps the parser of every option and argument of `program`, at every level, with a counter
 * keyed `verb --flag` or `verb <arg>`.
 */
function countParses(program: Command): Map<string, number> {
  const calls = new Map<string, number>()
  const counted =
    <T>(key: string, parse: (v: string, p: T) => T) =>
    (v: string, p: T) => {
      calls.set(key, (calls.get(key) ?? 0) + 1)
      return parse(v, p)
    }
  const visit = (cmd: Command, prefix: string): void => {
    for (const o of cmd.options)
      if (o.parseArg) o.parseArg = counted(`${prefix}${o.long ?? ''}`, o.parseArg.bind(o))
    for (const a of cmd.registeredArguments)
      if (a.parseArg) a.parseArg = counted(`${prefix}<${a.name()}>`, a.parseArg.bind(a))
    for (const sub of cmd.commands) visit(sub, `${prefix}${sub.name()} `)
  }
  visit(program, '')
  return calls
}

/** `bulkhead ...argv` in-process on `program`, its output swallowed; the exit code. */
async function runOn(program: Command, argv: string[]): Promise<{ code: number; out: string }> {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    return { code: await run(argv, program), out }
  } finally {
    vi.restoreAllMocks()
    process.exitCode = undefined
  }
}

/** Command lines that run their action to the end in a fixture workspace. */
const GOOD: Readonly<Record<string, { argv: string[]; parses: Record<string, number> }>> = {
  eval: {
    argv: [
      'eval',
      '10.20.1.11 -> 10.20.2.5 tcp/5432',
      '--at',
      '2026-11-01T12:00:00Z',
      '-o',
      'json',
      '-w',
      'test/fixtures/eval-estate',
    ],
    parses: { 'eval <flow>': 1, 'eval --at': 1, 'eval --output': 1 },
  },
  compile: {
    argv: [
      'compile',
      '--target',
      'nftables',
      '--out',
      join(tmp, 'nft'),
      '-w',
      'test/fixtures/compile-nftables',
      '--at',
      '2026-11-01',
      '--direction',
      'ingress',
      '--monitor-timeout',
      '60',
      '--management-cidr',
      '192.0.2.0/24',
      '--management-cidr',
      '198.51.100.0/24',
      '-o',
      'json',
    ],
    parses: {
      'compile --target': 1,
      'compile --at': 1,
      'compile --direction': 1,
      'compile --monitor-timeout': 1,
      'compile --management-cidr': 2,
      'compile --output': 1,
    },
  },
  lint: {
    argv: [
      'lint',
      '-w',
      'test/fixtures/lint-estate',
      '--at',
      '2026-11-01',
      '--expiring-days',
      '14',
      '--no-flows',
      '-o',
      'json',
    ],
    parses: { 'lint --at': 1, 'lint --expiring-days': 1, 'lint --output': 1 },
  },
  validate: {
    argv: ['validate', '-w', 'test/fixtures/good', '--at', '2026-11-01', '-o', 'yaml'],
    parses: { 'validate --at': 1, 'validate --output': 1 },
  },
  connlist: {
    argv: ['connlist', '-w', 'test/fixtures/connlist-estate', '--at', '2026-11-01', '-o', 'csv'],
    parses: { 'connlist --at': 1, 'connlist --output': 1 },
  },
  'blast-radius': {
    argv: ['blast-radius', '-w', 'test/fixtures/blast-estate', '--hops', '2', '--paths', '1'],
    parses: { 'blast-radius --hops': 1, 'blast-radius --paths': 1 },
  },
  'k8s connlist': {
    argv: ['k8s', 'connlist', 'test/fixtures/k8s-basic', '-o', 'json'],
    parses: { 'k8s connlist --output': 1 },
  },
  'k8s eval': {
    argv: [
      'k8s',
      'eval',
      'test/fixtures/k8s-basic',
      'shop/web',
      'shop/api',
      'tcp/9000',
      '-o',
      'json',
    ],
    parses: { 'k8s eval <service>': 1, 'k8s eval --output': 1 },
  },
  'k8s import': {
    argv: [
      'k8s',
      'import',
      'test/fixtures/k8s-import',
      '--out',
      join(tmp, 'k8s-policy'),
      '--assign-addresses',
      '100.64.0.0/10',
      '-o',
      'json',
    ],
    parses: { 'k8s import --assign-addresses': 1, 'k8s import --output': 1 },
  },
}

describe('each command-line check runs once, before the workspace', () => {
  it.each(Object.entries(GOOD))(
    '%s: every value is parsed once, and the action runs on it',
    async (_verb, { argv, parses }) => {
      const program = await buildProgram()
      const calls = countParses(program)
      const r = await runOn(program, argv)
      // 0, or 2 for lint's error findings: the action ran to the end
      expect(r.code).not.toBe(1)
      expect(Object.fromEntries(calls)).toEqual(parses)
    },
  )

  it('the action gets the parsed value: eval --at as the instant judged', async () => {
    const r = await cli(...(GOOD['eval']?.argv ?? []))
    expect(JSON.parse(r.stdout)).toMatchObject({ flow: { at: '2026-11-01T12:00:00.000Z' } })
  })

  /** `compile -w BARE --out BARE ...args -o json` where BARE is an empty folder (no workspace). */
  const compileInBare = (...args: string[]): ReturnType<typeof cli> => {
    const bare = mkdtempSync(join(tmp, 'bare-'))
    return cli('compile', '-w', bare, '--out', bare, ...args, '-o', 'json')
  }

  it.each([
    [
      'every bad value at once',
      ['--target', 'pf', '--direction', 'up', '--monitor-timeout', '0'],
      3,
    ],
    ['a check between options', ['--target', 'cilium', '--deny-with', 'anp'], 1],
    ['--cilium-labels for another target', ['--target', 'calico', '--cilium-labels', 'k8s:app'], 1],
    [
      'a --cilium-labels prefix Cilium refuses',
      ['--target', 'cilium', '--cilium-labels', 'k8s:'],
      1,
    ],
  ])(
    '%s: cli/usage before the workspace, in the -o json failure document',
    async (_what, args, n) => {
      const r = await compileInBare(...args)
      expect(r.code).toBe(1)
      const doc = JSON.parse(r.stdout) as { diagnostics: { code: string }[] }
      expect(doc.diagnostics.map((d) => d.code)).toEqual(Array(n).fill('cli/usage'))
      expect(r.stderr).not.toContain('workspace/not-found')
    },
  )

  it.each([
    // README "Workspace and policy format": `compile --target pf` in a bare folder names the
    // unknown target; the missing --out is said beside it, not instead of it
    ['compile', ['compile', '--target', 'pf'], 2],
    ['compile', ['compile'], 2],
    ['k8s import', ['k8s', 'import', 'test/fixtures/k8s-import'], 1],
  ])(
    '%s: a missing required option is cli/usage with the other errors, in the -o json document',
    async (_verb, argv, n) => {
      const bare = mkdtempSync(join(tmp, 'bare-'))
      const r = await cli(...argv, ...(argv[0] === 'compile' ? ['-w', bare] : []), '-o', 'json')
      expect(r.code).toBe(1)
      const doc = JSON.parse(r.stdout) as { diagnostics: { code: string }[] }
      expect(doc.diagnostics.map((d) => d.code)).toEqual(Array(n).fill('cli/usage'))
      expect(r.stderr).not.toContain('workspace/not-found')
    },
  )

  it.each([['validate'], ['inventory'], ['compile']])(
    '%s: --now (the former --at) with --at is cli/usage, in the -o json failure document',
    async (verb) => {
      // README "Commands": giving both is a usage error; commander's own conflict check printed
      // its text with no code and no -o json document
      const bare = mkdtempSync(join(tmp, 'bare-'))
      const out = verb === 'compile' ? ['--target', 'nftables', '--out', bare] : []
      const at = ['--now', '2026-11-01', '--at', '2026-11-02']
      const r = await cli(verb, '-w', bare, ...out, ...at, '-o', 'json')
      expect(r.code).toBe(1)
      const doc = JSON.parse(r.stdout) as { diagnostics: { code: string; message: string }[] }
      expect(doc.diagnostics.map((d) => d.code)).toEqual(['cli/usage'])
      expect(doc.diagnostics[0]?.message).toContain('--now')
      expect(r.stderr).toMatch(/^error cli\/usage: /m)
      expect(r.stderr).not.toContain('workspace/not-found')
    },
  )

  it.each([
    ['an unknown option', ['simulate', '--bogus'], "unknown option '--bogus'"],
    [
      'an unknown option, -o after it',
      ['simulate', '--bogus', '-o', 'json'],
      "unknown option '--bogus'",
    ],
    ['a missing argument', ['eval', '-o', 'json'], "missing required argument 'flow'"],
    ['an extra argument', ['simulate', 'extra', '-o', 'json'], 'too many arguments'],
    ['an unknown verb', ['simulte', '-o', 'json'], "unknown command 'simulte'"],
    ['a misspelt option', ['simulate', '--sinc', '2026-11-01'], "'--sinc' (Did you mean --since?)"],
  ])(
    "%s (commander's own check) is cli/usage, with the -o json failure document",
    async (_what, argv, text) => {
      // README "Workspace and policy format": a command line that is wrong by itself is reported as
      // cli/usage (exit 1), also in the -o json failure document
      const argvJson = argv.includes('-o')
        ? argv
        : [...argv.slice(0, 1), '-o', 'json', ...argv.slice(1)]
      const r = await cli(...argvJson)
      expect(r.code).toBe(1)
      const doc = JSON.parse(r.stdout) as { diagnostics: { code: string; message: string }[] }
      expect(doc.diagnostics.map((d) => d.code)).toEqual(['cli/usage'])
      expect(doc.diagnostics[0]?.message).toContain(text)
      expect(r.stderr).toMatch(/^error cli\/usage: /m)
      expect(r.stderr).not.toMatch(/^error: /m)
    },
  )

  it('an unknown option is said with the bad values read before it, at once', async () => {
    const r = await cli('simulate', '--at', 'nope', '--bogus', '-o', 'json')
    expect(r.code).toBe(1)
    const doc = JSON.parse(r.stdout) as { diagnostics: { code: string; message: string }[] }
    expect(doc.diagnostics.map((d) => d.code)).toEqual(['cli/usage', 'cli/usage'])
    expect(doc.diagnostics.map((d) => d.message).join('\n')).toContain('"nope" is not a time')
  })

  it('an empty path option is cli/usage, and nothing is written to the current folder', async () => {
    // "" is the current folder to Node: k8s import --out "" wrote its policies there
    const dir = mkdtempSync(join(tmpdir(), 'bulkhead-empty-path-'))
    const cwd = process.cwd()
    const manifests = join(cwd, 'test/fixtures/k8s-basic')
    try {
      process.chdir(dir)
      for (const args of [
        ['k8s', 'import', manifests, '--out', ''],
        ['init', '-w', ''],
        ['validate', '-w', ''],
        ['simulate', '--flows', 'a.log', ''],
        // diff's --flows was <file...>, a placeholder the check did not take for a path
        ['diff', 'a', 'b', '--flows', ''],
        // a policy folder named <policyDir>: io/not-found before, as --policy "" is cli/usage
        ['blast-radius', '--compare', ''],
        ['metrics', '--previous', ''],
      ]) {
        const r = await cli(...args)
        expect(r.code, args.join(' ')).toBe(1)
        expect(r.stderr, args.join(' ')).toMatch(/^error cli\/usage: option '.*' is empty/m)
      }
      expect(readdirSync(dir)).toEqual([])
    } finally {
      process.chdir(cwd)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('no verb: the help on stderr, exit 1, no diagnostic', async () => {
    const r = await cli()
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('Usage: bulkhead')
    expect(r.stderr).not.toContain('cli/usage')
  })

  it('collect: a missing --listen is cli/usage, said with the other errors', async () => {
    const r = await cli('collect', '--count', '0')
    expect(r.code).toBe(1)
    expect(r.stderr.match(/^error cli\/usage: /gm)).toHaveLength(2)
    expect(r.stderr).toContain("required option '--listen")
  })

  it('flows --help describes -o json as it is printed: flows first, written as read', async () => {
    const help = (await cli('flows', '--help')).stdout
    const doc = (await cli('flows', 'test/fixtures/flows/aws-v2.log', '-o', 'json')).stdout
    expect(Object.keys(JSON.parse(doc) as object)).toEqual(['flows', 'failed', 'summary'])
    expect(help).toContain('{"flows": [...], "failed": [unusable files], "summary": ...}')
    expect(help).toContain('written as it is read')
  })

  it.each([
    'init',
    'validate',
    'eval',
    'flows',
    'ingest',
    'recommend',
    'discover',
    'collect',
    'inventory',
    'inventory suggest-labels',
    'simulate',
    'lint',
    'compile',
    'connlist',
    'k8s connlist',
    'k8s eval',
    'k8s import',
    'blast-radius',
    'metrics',
    'diff',
    'demo',
  ])(
    '%s --help has examples and names each default as a user reads it, never as an array',
    async (verb) => {
      const help = (await cli(...verb.split(' '), '--help')).stdout.replace(/\s+/g, ' ')
      expect(help).toContain('Examples:')
      // a list default as commander prints an array (`["monthly"]`, `[]`) reads as code, not as help
      expect(help).not.toMatch(/\(default: \[/)
    },
  )

  it('compile --help: --management-cidr defaults to the private ranges, --host to every host', async () => {
    const help = (await cli('compile', '--help')).stdout.replace(/\s+/g, ' ')
    expect(help).toContain(
      '(repeatable) (default: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)',
    )
    expect(help).toMatch(/--host <name> .*\(default: every host\)/)
  })

  it('--help after a bad value still shows the help, with the choices, exit 0', async () => {
    const r = await cli('compile', '--target', 'pf', '--help')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: bulkhead compile')
    expect(r.stdout).toContain('choices: "nftables"')
  })
})

describe('help text', () => {
  it('every list of subcommands wraps its descriptions within 80 columns', async () => {
    // commander wraps a description only when at least 40 columns are left beside the term; a
    // long term (`k8s eval [options] <dir> <src> <dst> <service>`) left k8s's list unwrapped
    const lists: string[] = []
    const visit = (cmd: Command, name: string): void => {
      if (cmd.commands.length === 0) return
      const help = cmd.helpInformation()
      const from = help.indexOf('\nCommands:\n')
      expect(from, `${name} lists its commands`).toBeGreaterThan(0)
      const block = help.slice(from + 1).split('\n\n')[0] ?? ''
      for (const line of block.split('\n'))
        expect(line.length, `${name}: ${line}`).toBeLessThanOrEqual(80)
      lists.push(name)
      for (const sub of cmd.commands) visit(sub, `${name} ${sub.name()}`)
    }
    visit(await buildProgram(), 'bulkhead')
    expect(lists).toEqual(expect.arrayContaining(['bulkhead', 'bulkhead k8s']))
  })
})

describe('buildProgram loads what the command line names', () => {
  it('a verb first: that verb alone; anything else (help, an option, an unknown word): every verb', async () => {
    const names = async (argv?: readonly string[]): Promise<string[]> =>
      (await buildProgram(argv)).commands.map((c) => c.name())
    const every = await names()
    expect(every).toHaveLength(18)
    expect(every).toEqual(expect.arrayContaining(['ingest', 'k8s', 'blast-radius', 'demo']))
    expect(await names(['eval', '10.0.0.1 -> 10.0.0.2 tcp/5432'])).toEqual(['eval'])
    expect(await names(['k8s', 'connlist', 'x'])).toEqual(['k8s'])
    for (const argv of [
      [],
      ['--help'],
      ['help', 'ingest'],
      ['-V'],
      ['nosuch'],
      ['-w', 'x', 'eval'],
    ])
      expect(await names(argv)).toEqual(every)
  })
})
