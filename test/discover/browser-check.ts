/**
 * @module Opens `discover -o html` pages in headless Chromium (playwright-core) and prints what
 * rendered, as JSON on stdout. Run by html-browser.test.ts in a child process with a hard time
 * limit, so that a stuck browser cannot hang the test worker.
 * Usage: node --import tsx browser-check.ts CHROMIUM MAP.html GROUPED.html BIG.html LONG.html DENSE.html
 */
import { pathToFileURL } from 'node:url'
import type { Page } from 'playwright-core'
import { launchHeadless } from '../helpers/browser.js'

const [
  chromiumPath = '',
  mapFile = '',
  groupedFile = '',
  bigFile = '',
  longFile = '',
  denseFile = '',
] = process.argv.slice(2)
const browser = await launchHeadless(chromiumPath)
const out: Record<string, unknown> = {}
try {
  const open = async (file: string) => {
    const page = await browser.newPage()
    const errors: string[] = []
    const requests: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('request', (r) => requests.push(r.url()))
    const t0 = Date.now()
    await page.goto(pathToFileURL(file).href, { timeout: 20_000 })
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 })
    return { page, errors, requests, ms: Date.now() - t0 }
  }
  /** Pairs of entities whose boxes, labels included, overlap: text drawn over text. */
  const overlaps = (page: Page) =>
    page.evaluate(`(() => {
      const b = window.bulkheadMap.nodes('.entity').map((n) => [n.id(), n.boundingBox({ includeLabels: true })])
      const out = []
      for (let i = 0; i < b.length; i++)
        for (let j = i + 1; j < b.length; j++) {
          const [p, x] = b[i], [q, y] = b[j]
          if (x.x1 < y.x2 && y.x1 < x.x2 && x.y1 < y.y2 && y.y1 < x.y2) out.push(p + ' ' + q)
        }
      return out
    })()`)
  const visible = async (page: Page) =>
    /^(\d+) of/.exec((await page.locator('#count').textContent()) ?? '')?.[1]

  const m = await open(mapFile)
  out.map = await m.page.evaluate(`(() => {
    const cy = window.bulkheadMap
    return {
      entities: cy.nodes('.entity').length,
      groups: cy.nodes('.group').map((n) => n.id()).sort(),
      edges: cy.edges().length,
      parentOfWeb: cy.getElementById('e:web-1').parent().id(),
      width500: cy.getElementById('x0').data('width'),
      width1: cy.getElementById('x4').data('width'),
      positioned: cy.nodes('.entity').every((n) => Number.isFinite(n.position('x'))),
      bodyEntities: document.body.getAttribute('data-entities'),
      bodyEdges: document.body.getAttribute('data-edges'),
    }
  })()`)
  out.overlaps = await overlaps(m.page)
  out.boldTags = await m.page.locator('b').count()
  out.warning = await m.page.locator('.warn').textContent()
  const filters: Record<string, string | undefined> = {}
  await m.page.fill('#f-port', '8080')
  filters.port8080 = await visible(m.page)
  await m.page.fill('#f-port', '')
  await m.page.fill('#f-label', 'role=partner')
  filters.rolePartner = await visible(m.page)
  await m.page.fill('#f-label', '')
  await m.page.selectOption('#f-pattern', 'once')
  filters.once = await visible(m.page)
  await m.page.selectOption('#f-pattern', 'continuous')
  filters.continuous = await visible(m.page)
  await m.page.selectOption('#f-pattern', '')
  filters.none = await visible(m.page)
  out.filters = filters
  await m.page.evaluate(`void window.bulkheadMap.getElementById('x2').emit('tap')`)
  out.evidence = await m.page.locator('#evidence').textContent()
  out.errors = m.errors
  out.requests = m.requests
  await m.page.close()

  for (const [key, file] of [
    ['grouped', groupedFile],
    ['big', bigFile],
    ['dense', denseFile],
  ] as const) {
    const p = await open(file)
    out[key] = {
      entities: Number(await p.page.locator('body').getAttribute('data-entities')),
      edges: Number(await p.page.locator('body').getAttribute('data-edges')),
      ms: p.ms,
      overlaps: await overlaps(p.page),
      errors: p.errors,
    }
    await p.page.close()
  }

  const l = await open(longFile)
  out.long = {
    ...(await l.page.evaluate<object>(`(() => {
      const b = window.bulkheadMap.nodes('.entity').map((n) => n.boundingBox({ includeLabels: true }))
      return { widest: Math.max(...b.map((x) => Math.round(x.w))), tallest: Math.max(...b.map((x) => Math.round(x.h))) }
    })()`)),
    overlaps: await overlaps(l.page),
    errors: l.errors,
  }
  await l.page.close()
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(out))
