/**
 * @module Opens the demo report in headless Chromium (playwright-core) and prints what rendered,
 * as JSON on stdout. Run by demo.test.ts in a child process with a hard time limit, so that a
 * stuck browser cannot hang the test worker.
 * Usage: node --import tsx browser-check.ts CHROMIUM REPORT.html
 */
import { pathToFileURL } from 'node:url'
import { launchHeadless } from '../helpers/browser.js'

const [chromiumPath = '', reportFile = ''] = process.argv.slice(2)
const browser = await launchHeadless(chromiumPath)
const out: Record<string, unknown> = {}
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors: string[] = []
  const requests: string[] = []
  const failed: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`)
  })
  page.on('request', (r) => requests.push(r.url()))
  page.on('requestfailed', (r) => failed.push(r.url()))
  await page.goto(pathToFileURL(reportFile).href, { timeout: 20_000 })
  const frame = page.frameLocator('#map-frame')
  await frame.locator('body[data-ready="1"]').waitFor({ timeout: 20_000 })
  const rows = async (id: string): Promise<number> => page.locator(`#${id} tbody tr`).count()
  out.map = {
    entities: Number(await frame.locator('body').getAttribute('data-entities')),
    edges: Number(await frame.locator('body').getAttribute('data-edges')),
    rendered: await page
      .frame({ url: /srcdoc/ })
      ?.evaluate(`window.bulkheadMap ? window.bulkheadMap.nodes('.entity').length : -1`),
  }
  out.rows = {
    rules: await rows('rules'),
    training: await rows('training'),
    intrusion: await rows('intrusion-edges'),
    lateral: await rows('lateral'),
    scans: await rows('scans'),
    blast: await rows('blast'),
    targets: await rows('targets'),
    artefacts: await rows('artefacts'),
    rhythms: await rows('rhythms'),
  }
  out.trainingBlocked = await page.locator('body').getAttribute('data-training-blocked')
  out.intrusionCard = await page.locator('#fig-intrusion-blocked b').textContent()
  out.lateralText = await page.locator('#lateral').textContent()
  out.mapVisible = await page.locator('#map-frame').isVisible()
  // the page fits the 1280 px viewport: no table pushes columns off to the right
  out.pageWidth = await page.evaluate('document.documentElement.scrollWidth')
  out.widest = await page.evaluate(`[...document.querySelectorAll('table')]
    .map((t) => [t.id, Math.round(t.getBoundingClientRect().width)])
    .sort((a, b) => b[1] - a[1])[0]`)
  out.errors = errors
  out.failed = failed
  out.requests = requests
} finally {
  await browser.close()
}
process.stdout.write(JSON.stringify(out))
