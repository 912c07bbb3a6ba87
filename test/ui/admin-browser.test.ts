// The "Agen" admin page and the dashboard's breaks in real headless Chromium (Debian's
// chromium driven by playwright-core) against the real service on the real Asterisk
// sandbox: an admin adds agent 1003 through the page (a bad interface first: the API's
// message beside the field), changes it, issues its token (shown once, copied) which then
// works; the dashboard shows 1003 logged out apart, then paused with its reason and a
// running timer after a login and a pause through the API; removing it while logged in
// shows the API's 409, after the logout it goes. Over-max highlighting is checked on a
// stream the test writes (a break cannot be made an hour old in a test). Screenshots go
// to .tap/screenshots/admin/, with UPDATE_SCREENSHOTS=1 also to docs/screenshots/.
import t from 'tap'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { launch, pageProblems, screenshots, signIn } from './chromium.ts'
import { TOKENS } from '../helpers/config.ts'
import { needPart } from '../helpers/real-parts.ts'
import { startStack } from '../pbx/harness.ts'

const shoot = screenshots('admin')
const PHONE = 'Local/1003@agents/n'

t.test('the Agen admin page and the dashboard\'s breaks in headless Chromium', async t => {
  const browser = await needPart(t, 'chromium', launch)
  if (browser === undefined) return
  t.teardown(() => browser.close())

  const s = await startStack(t)
  const { port } = s.svc.app.server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`
  const put = async (url: string, token: string, body: unknown): Promise<{ status: number, body: any }> => {
    const r = await s.svc.app.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${token}` }, payload: body as object })
    return { status: r.statusCode, body: r.json() }
  }

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'id-ID', timezoneId: 'Asia/Jakarta' })
  t.teardown(() => context.close())
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const urls: string[] = []
  const { problems, watch } = pageProblems()
  context.on('request', r => { urls.push(r.url()) })
  const admin = watch(await context.newPage(), 'admin')
  let dash: Page = admin
  let token = ''

  await t.test('the admin page: sign in, config agents marked, add with a bad field, change, issue a token', async t => {
    await admin.goto(`${base}/admin`)
    t.equal(await admin.textContent('#signin h1'), 'Masuk')
    await signIn(admin, TOKENS.supervisor)
    t.match(await admin.textContent('#signin-error:not([hidden]):not(:text("Memeriksa"))'), /^FORBIDDEN: /, 'a supervisor token is refused, in the API\'s words')
    await signIn(admin, TOKENS.admin)
    await admin.waitForSelector('#admin:not([hidden])')
    for (const id of ['1001', '1002']) {
      const row = `#agents tr[data-agent="${id}"]`
      t.equal(await admin.getAttribute(row, 'data-in-config'), 'true', `${id} is marked as from the config file`)
      t.equal(await admin.textContent(`${row} .source`), 'File config')
      t.equal(await admin.locator(`${row} button.edit, ${row} button.remove`).count(), 0, `${id} cannot be changed or removed here`)
    }

    const fill = async (iface: string): Promise<void> => {
      await admin.fill('#f-id', '1003')
      await admin.fill('#f-name', 'Sari Dewi')
      await admin.fill('#f-queues', 'pln123')
      await admin.fill('#f-unit', 'DISTRIBUSI JAKARTA RAYA')
      await admin.fill('#f-unitPelayanan', 'UP3 TANJUNG PRIOK')
      await admin.fill('#f-interface', iface)
    }
    // What the API says of the same body (nothing is created by a refused one).
    const bad = { name: 'Sari Dewi', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK', interface: 'PSJIP/1003' }
    const refused = await put('/v1/admin/agents/1003', TOKENS.admin, bad)
    t.equal(refused.status, 400)
    await fill('PSJIP/1003')
    await admin.click('#form-save')
    const err = '#agent-form .field-error[data-for="interface"]:not([hidden])'
    await admin.waitForSelector(err)
    t.equal(await admin.textContent(err), refused.body.message, 'the API\'s message, beside the interface field')
    t.equal(await admin.getAttribute('#f-interface', 'aria-invalid'), 'true')
    t.equal(await admin.locator('#agents tr[data-agent="1003"]').count(), 0, 'not listed')

    await admin.fill('#f-interface', PHONE)
    await admin.click('#form-save')
    const row = '#agents tr[data-agent="1003"]'
    await admin.waitForSelector(row)
    t.equal(await admin.getAttribute(row, 'data-in-config'), 'false')
    t.match(await admin.textContent(row), /Sari Dewi.*Local\/1003@agents\/n.*pln123.*UP3 TANJUNG PRIOK.*Tidak login.*Dibuat di sini/, 'listed with its fields, logged out, created here')
    t.equal(await admin.textContent('#notice'), 'Agen 1003 ditambahkan.')
    t.ok(await admin.isHidden(err), 'the field error is gone')

    await admin.click(`${row} button.edit`)
    t.equal(await admin.textContent('#form-title'), 'Ubah agen 1003')
    t.ok(await admin.locator('#f-id').evaluate(el => (el as any).readOnly), 'the id is fixed while changing')
    await admin.fill('#f-name', 'Sari Dewi Lestari')
    await admin.click('#form-save')
    await admin.waitForSelector(`${row}:has-text("Sari Dewi Lestari")`)
    t.equal(await admin.textContent('#notice'), 'Agen 1003 diubah.')
    t.match((await s.http('GET', '/v1/admin/agents', TOKENS.admin)).body.find((a: any) => a.id === '1003'), { name: 'Sari Dewi Lestari', interface: PHONE, queues: ['pln123'] }, 'changed in the service')

    await admin.click(`${row} button.token`)
    t.equal(await admin.textContent('#token-title'), 'Token untuk agen 1003')
    await admin.fill('#token-holder', 'Sari (meja 12)')
    await admin.check('#token-revoke')
    await admin.click('#token-issue')
    await admin.waitForSelector('#token-shown:not([hidden])')
    token = await admin.inputValue('#token-value')
    t.ok(token.length >= 20, 'a token is shown')
    t.ok(await admin.isVisible('#token-revoked'), 'saying the others are revoked')
    await admin.click('#token-copy')
    await admin.waitForSelector('#token-copy-state:not([hidden])')
    t.equal(await admin.getAttribute('#token-copy-state', 'data-copied'), 'true')
    t.equal(await admin.evaluate(async () => await (globalThis as any).navigator.clipboard.readText()), token, 'the copy button put it on the clipboard')
    await shoot(admin, 'admin-token-issued', 'admin.png')
    await admin.click('#token-close')
    t.ok(await admin.isHidden('#token-card'), 'closed')
    t.equal(await admin.inputValue('#token-value'), '', 'and the token is gone from the page: shown once')

    const view = await s.http('GET', '/v1/agents/1003', token)
    t.equal(view.status, 200, 'the issued token works')
    t.match(view.body, { id: '1003', state: 'offline', loggedOut: true })
    t.equal((await s.http('GET', '/v1/agents/1001', token)).status, 403, 'for agent 1003 only')
  })

  await t.test('the dashboard: 1003 logged out apart, then on a break with its reason and a running timer', async t => {
    dash = watch(await context.newPage(), 'dashboard')
    await dash.goto(`${base}/`)
    t.equal(await dash.getAttribute('#nav-admin', 'href'), '/admin', 'a link to the admin page')
    await signIn(dash, TOKENS.supervisor)
    await dash.waitForSelector('#stream[data-state="live"]')
    await dash.waitForSelector('#agents-out-group:not([hidden]) .agent-out[data-agent="1003"]')
    t.equal(await dash.locator('#agents .agent[data-agent="1003"]').count(), 0, 'not among the working agents')
    t.equal(await dash.textContent('#agents-out-count'), '1')
    t.equal(await dash.locator('#agents .agent').count(), 2, '1001 and 1002 on the floor')

    const login = await s.http('POST', '/v1/agents/1003/login', token, {})
    t.equal(login.status, 200, JSON.stringify(login.body))
    const pause = await s.http('POST', '/v1/agents/1003/pause', token, { reason: 'SHOLAT' })
    t.equal(pause.status, 200, JSON.stringify(pause.body))
    const card = '#agents .agent[data-agent="1003"][data-state="paused"]'
    await dash.waitForSelector(card)
    t.ok(await dash.isHidden('#agents-out-group'), 'no one is logged out now')
    // The label from config pauseReasons (GET /v1/pause-reasons), with the code.
    await dash.locator(`${card} .pause-reason`, { hasText: 'Sholat (SHOLAT)' }).waitFor({ timeout: 10_000 }).catch(() => {})
    t.equal(await dash.textContent(`${card} .pause-reason`), 'Jeda: Sholat (SHOLAT)', 'the reason, by its label')
    t.equal(await dash.textContent(`${card} .agent-phone`), `Telepon ${PHONE}`, 'at its phone')
    t.equal(await dash.getAttribute(`${card} .pause-timer`, 'data-since'), pause.body.pausedSince, 'the time since the break began')
    const first = await dash.textContent(`${card} .pause-timer`)
    t.match(first, /^\d+:\d\d$/)
    await dash.waitForFunction(([sel, was]) => (globalThis as any).document.querySelector(sel)?.textContent !== was, [`${card} .pause-timer`, first] as const)
    t.pass('and it runs')
    t.equal(await dash.getAttribute(`${card} .agent-pause`, 'data-over-max'), 'false', 'within its limit')
    t.equal(await dash.textContent('#kpi-paused'), '1')
    await shoot(dash, 'dashboard-break', 'dashboard-break.png')
  })

  await t.test('removing a logged-in agent shows the API\'s 409; after the logout it goes', async t => {
    const row = '#agents tr[data-agent="1003"]'
    await admin.bringToFront()
    await admin.click('#refresh')
    await admin.waitForSelector(`${row} .pill[data-logged-in="true"]`)
    await admin.click(`${row} button.remove`)
    t.equal(await admin.textContent(`${row} button.remove`), 'Yakin hapus?', 'asks once more')
    await admin.click(`${row} button.remove`)
    await admin.waitForSelector('#error:not([hidden])[data-code="AGENT_BUSY"]')
    t.match(await admin.textContent('#error-message'), /agent 1003 is .*removed once that is over/, 'the API\'s message')
    t.equal(await admin.locator(row).count(), 1, 'still listed')

    const logout = await s.http('POST', '/v1/agents/1003/logout', token)
    t.equal(logout.status, 200, JSON.stringify(logout.body))
    await dash.waitForSelector('#agents-out .agent-out[data-agent="1003"]')
    t.equal(await dash.locator('#agents .agent[data-agent="1003"]').count(), 0, 'the dashboard shows it logged out, apart')

    await admin.click('#error-close')
    await admin.click(`${row} button.remove`)
    await admin.click(`${row} button.remove`)
    await admin.waitForSelector(row, { state: 'detached' })
    t.equal(await admin.textContent('#notice'), 'Agen 1003 dihapus.')
    t.ok(await admin.isHidden('#error'), 'no error')
    await dash.waitForSelector('.agent-out[data-agent="1003"], .agent[data-agent="1003"]', { state: 'detached' })
    t.pass('gone from the dashboard')
    t.equal((await s.http('GET', '/v1/agents/1003', token)).status, 401, 'its token stopped working')
  })

  await t.test('over-max, the next status and English on a stream the test writes', async t => {
    const page = watch(await context.newPage(), 'dashboard (written stream)')
    const since = new Date(Date.now() - 20 * 60_000).toISOString()
    const agent = (id: string, more: Record<string, unknown>): Record<string, unknown> => ({ id, state: 'ready', paused: false, loggedOut: false, ...more })
    const snapshot = {
      agents: [
        agent('1001', { state: 'paused', paused: true, pauseReason: 'ISTIRAHAT', pausedSince: since, pauseOverMax: true }),
        agent('1002', { state: 'paused', paused: true, pauseReason: 'TOILET', pausedSince: since }),
        agent('1004', { state: 'acw', paused: true, pauseReason: 'ACW', acwEndsAt: new Date(Date.now() + 60_000).toISOString(), next: { paused: true, reason: 'BRIEFING' } }),
        agent('1005', { state: 'offline', loggedOut: true })
      ],
      calls: [],
      ami: { state: 'connected' },
      apkt: { pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null }
    }
    const frames = [
      `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`,
      // 1002's break passes its limit now: only the feed's pause event says so.
      `event: pause\ndata: ${JSON.stringify({ agentId: '1002', reason: 'TOILET', since, overMax: true })}\n\n`
    ]
    await page.route('**/v1/events', async route => { await route.fulfill({ status: 200, contentType: 'text/event-stream', body: `retry: 60000\n${frames.join('')}` }) })
    await page.goto(`${base}/`)
    // A new tab has no session of its own (sessionStorage): it signs in.
    await signIn(page, TOKENS.supervisor)
    await page.waitForSelector('.agent[data-agent="1002"].over-max')
    t.equal(await page.getAttribute('.agent[data-agent="1001"] .agent-pause', 'data-over-max'), 'true', 'over its limit as the view says')
    t.ok(await page.isVisible('.agent[data-agent="1001"] .over-max-badge'))
    t.equal(await page.textContent('.agent[data-agent="1002"] .over-max-badge'), 'Lewat batas', 'over its limit as the feed says')
    t.ok(await page.evaluate(() => (globalThis as any).document.querySelector('.kpi[data-kind="paused"]').classList.contains('alert')), 'the paused KPI alerts')
    t.match(await page.textContent('#notice'), /1002.*TOILET/, 'and a notice names it')
    t.match(await page.textContent('.agent[data-agent="1001"] .pause-timer'), /^\d+:\d\d$/, 'with its time')
    t.equal(await page.textContent('.agent[data-agent="1004"] .agent-next'), 'Berikutnya: jeda (BRIEFING)', 'the next status during ACW')
    t.equal(await page.locator('#agents-out .agent-out[data-agent="1005"]').count(), 1, 'logged out, apart')
    await page.click('#lang')
    t.equal(await page.textContent('.agent[data-agent="1004"] .agent-next'), 'Next: pause (BRIEFING)', 'in English')
    t.equal(await page.textContent('.agent[data-agent="1002"] .over-max-badge'), 'Over the limit')
    t.equal(await page.textContent('[data-i18n="dash.loggedOut"]'), 'Logged out')
    await shoot(page, 'dashboard-over-max')
    await page.click('#lang')
    await page.close()
  })

  await t.test('no token in a URL, nothing from elsewhere, no script errors', async t => {
    const leaked = urls.filter(u => Object.values(TOKENS).some(tok => u.includes(tok)) || (token !== '' && u.includes(token)))
    t.same(leaked, [], 'no token in any request URL')
    t.notOk(urls.some(u => !u.startsWith(base)), 'nothing fetched from elsewhere')
    t.same(problems, [], 'no page errors')
  })
})
