/**
 * @module Headless Chromium for the browser checks (test/demo and test/discover
 * `browser-check.ts`): one launch with the flags that keep it off the network and quiet.
 */
import { chromium, type Browser } from 'playwright-core'

/**
 * Launches the Chromium at `executablePath` headless, without sandbox, GPU, background
 * networking, component updates, sync or first-run pages.
 * @throws what playwright-core throws when it cannot start within 30 s.
 */
export function launchHeadless(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    timeout: 30_000,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
}
