// Debian's Chromium for the browser tests, driven by playwright-core (never a downloaded
// browser), and the steps the pages share: signing in with a token, screenshots.
import { existsSync } from 'node:fs'
import { copyFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Probed } from '../helpers/real-parts.ts'
import { projectRoot } from '../pbx/sandbox.ts'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const DOCS = path.join(projectRoot, 'docs', 'screenshots')

/** Chromium, or why it cannot run (a failure naming it, unless PLN123_ALLOW_MISSING says chromium). */
export async function launch (): Promise<Probed<Browser>> {
  if (!existsSync(CHROMIUM)) return { missing: `${CHROMIUM} does not exist; npm test installs it (test/ui/install-chromium.sh, needs root and apt)` }
  try {
    return {
      value: await chromium.launch({
        executablePath: CHROMIUM,
        // Playwright gives every launch a fresh temporary profile (user-data-dir). Pages side
        // by side: the one not in front must not have its animation frames throttled
        // (Playwright waits for frames before each click).
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
          '--disable-renderer-backgrounding', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows'],
        timeout: 30_000
      })
    }
  } catch (err) {
    return { missing: `cannot launch ${CHROMIUM}: ${(err as Error).message.split('\n')[0] ?? ''}` }
  }
}

/** Collects what goes wrong in the pages a test watches: uncaught errors and console errors. */
export function pageProblems (): { problems: string[], watch: (page: Page, name: string) => Page } {
  const problems: string[] = []
  const watch = (page: Page, name: string): Page => {
    page.on('pageerror', e => { problems.push(`${name}: ${e.message}`) })
    // The 4xx answers the pages show on purpose are logged by Chromium as failed loads.
    page.on('console', m => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`${name} console: ${m.text()}`) })
    return page
  }
  return { problems, watch }
}

export async function signIn (page: Page, token: string): Promise<void> {
  await page.fill('#token', token)
  await page.click('#signin-form button[type=submit]')
}

/** Screenshots into .tap/screenshots/<folder>/; with UPDATE_SCREENSHOTS=1 the named ones also to docs/screenshots/ for the README. */
export function screenshots (folder: string): (page: Page, name: string, docsName?: string) => Promise<void> {
  const dir = path.join(projectRoot, '.tap', 'screenshots', folder)
  return async (page, name, docsName) => {
    await mkdir(dir, { recursive: true })
    const file = path.join(dir, `${name}.png`)
    await page.screenshot({ path: file, fullPage: true })
    // A test run must not change tracked files: the README's copies are refreshed on request.
    if (docsName !== undefined && process.env.UPDATE_SCREENSHOTS === '1') {
      await mkdir(DOCS, { recursive: true })
      await copyFile(file, path.join(DOCS, docsName))
    }
  }
}
