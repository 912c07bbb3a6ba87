// The agent panel and the supervisor dashboard in real headless Chromium (Debian's
// chromium driven by playwright-core, never a downloaded browser) against the real
// Asterisk sandbox: an agent takes a call, picks Aktivasi, reads the exact script,
// records consent and presses Direct Transfer 3; the customer reaches ICONNET, the
// panel shows ACW counting down, and the dashboard (a second page) shows the agent in
// ACW and the APKT record delivered (how soon is printed, not asserted: correctness
// tests assert outcomes, benchmarks measure time). Then the shift around a call: an
// agent added at run time logs in at today's phone, picks a wrap-up code, asks for a
// pause during ACW (shown as the next status, started when ACW ends, with its timer),
// meets WRAPUP_CLOSED, gets ready and logs out. Screenshots go to
// .tap/screenshots/browser/, and with UPDATE_SCREENSHOTS=1 one of each page to docs/screenshots/ for the README.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import type { Page, Route } from 'playwright-core'
import { launch, pageProblems, screenshots, signIn } from './chromium.ts'
import { TOKENS } from '../helpers/config.ts'
import { needPart } from '../helpers/real-parts.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { startStack, type Stack } from '../pbx/harness.ts'

const shoot = screenshots('browser')
const ACTIVATION_BAPAK_BUDI = 'Baik Bapak Budi, mohon maaf saat ini Bapak terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk informasi ICONNET, Bapak akan kami sambungkan ke Contact Center ICONNET, mohon ditunggu ya Pak?'

/** A stand-in for PLN's APKT: records what it gets, and can refuse a call's record. */
async function apktReceiver (t: Test): Promise<{ url: string, received: Array<Record<string, any>>, refuse: Set<string> }> {
  const received: Array<Record<string, any>> = []
  const refuse = new Set<string>()
  const app = Fastify()
  app.post('/apkt/records', async (req, reply) => {
    const body = req.body as Record<string, any>
    if (refuse.has(body.callId)) return await reply.code(422).send({ error: 'UNIT_PELAYANAN_UNKNOWN', message: 'unit pelayanan tidak dikenal' })
    received.push(body)
    return await reply.code(201).send({ ok: true })
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/apkt/records`, received, refuse }
}

/** The queue member at iface as app_queue reports it (QueueStatus), or undefined. */
async function member (s: Stack, iface: string): Promise<{ paused: boolean, reason: string } | undefined> {
  const q = await s.admin.list('QueueStatus', { Queue: 'pln123' })
  const m = q.items.find(i => i.event === 'QueueMember' && i.fields.location === iface)
  return m === undefined ? undefined : { paused: m.fields.paused === '1', reason: m.fields.pausedreason ?? '' }
}

t.test('agent panel and supervisor dashboard in headless Chromium', async t => {
  const browser = await needPart(t, 'chromium', launch)
  if (browser === undefined) return
  t.teardown(() => browser.close())

  const apkt = await apktReceiver(t)
  const s = await startStack(t, raw => {
    raw.acw = { seconds: 5, mode: 'fixed' }
    raw.apkt = { url: apkt.url, token: 'x', timeoutMs: 2000, dispatcher: { pollMs: 100, backoff: { initialMs: 100, maxMs: 1000 } } }
  })
  const { port } = s.svc.app.server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'id-ID', timezoneId: 'Asia/Jakarta' })
  t.teardown(() => context.close())
  const urls: string[] = []
  const { problems, watch } = pageProblems()
  context.on('request', r => { urls.push(r.url()) })

  const dash = watch(await context.newPage(), 'dashboard')

  await t.test('the dashboard signs in, streams, keeps the language, and reconnects by itself', async t => {
    // The first stream ends at once (as a proxy or a restart would end it): the page
    // must notice and come back on its own.
    let streams = 0
    await dash.route('**/v1/events', async route => {
      streams++
      if (streams === 1) {
        await route.fulfill({ status: 200, contentType: 'text/event-stream', body: 'retry: 300\nevent: snapshot\ndata: {"agents":[],"calls":[],"ami":{"state":"connecting"},"apkt":{"pending":0,"delivered":0,"dead":0,"oldestPendingAgeMs":null}}\n\n' })
      } else {
        await route.fallback()
      }
    })
    await dash.goto(`${base}/`)
    t.equal(await dash.getAttribute('html', 'lang'), 'id', 'Indonesian by default')
    t.equal(await dash.textContent('#signin h1'), 'Masuk')
    await signIn(dash, TOKENS.supervisor)
    await dash.waitForSelector('#board:not([hidden])')
    await dash.waitForFunction(() => (globalThis as any).document.querySelectorAll('#agents .agent').length === 2, undefined, { timeout: 10_000 })
    await dash.waitForSelector('#stream[data-state="live"]')
    await dash.waitForSelector('#ami[data-state="connected"]')
    t.ok(streams >= 2, `reconnected after the stream ended (${streams} streams)`)
    await dash.unroute('**/v1/events')

    await dash.click('#lang')
    t.equal(await dash.textContent('[data-i18n="dash.agents"]'), 'Agents', 'English on the toggle')
    await dash.reload()
    await dash.waitForSelector('#board:not([hidden])')
    t.equal(await dash.textContent('[data-i18n="dash.agents"]'), 'Agents', 'the choice survives a reload')
    t.equal(await dash.getAttribute('html', 'lang'), 'en')
    await dash.click('#lang')
    t.equal(await dash.textContent('[data-i18n="dash.agents"]'), 'Agen')
    await dash.waitForSelector('#stream[data-state="live"]')

    // A reload with a token the service now refuses: back to sign-in, saying why.
    await dash.evaluate(() => { (globalThis as any).sessionStorage.setItem('pln123.supervisor.token', 'a-token-the-service-refuses-0123') })
    await dash.reload()
    await dash.waitForSelector('#signin:not([hidden])')
    t.equal(await dash.textContent('#signin-error'), 'Sesi berakhir atau token ditolak. Silakan masuk lagi.', 'the refused session is named')
    t.equal(await dash.evaluate(() => (globalThis as any).sessionStorage.getItem('pln123.supervisor.token')), null, 'and forgotten')
    await signIn(dash, TOKENS.supervisor)
    await dash.waitForSelector('#stream[data-state="live"]')
  })

  await t.test('the SSE parser takes frames split anywhere, with any line ending', async t => {
    const parsed = await dash.evaluate(async () => {
      // @ts-expect-error a browser module, served by the service
      const { SseParser } = await import('/ui/sse.js')
      const text = 'retry: 2000\r\nevent: snapshot\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: keepalive\n\nid: 7\nevent: agent\ndata: x\r\rdata: plain\n\n'
      const out: unknown[] = []
      const p = new SseParser()
      for (const ch of text) out.push(...p.push(ch))
      return out
    })
    t.same(parsed, [
      { event: '', data: '', retry: 2000 },
      { event: 'snapshot', data: '{"a":\n1}' },
      { event: 'agent', data: 'x', id: '7' },
      { event: 'message', data: 'plain', id: '7' }
    ])
  })

  // Two callers: the first to the agent under test, the second keeps the other agent
  // busy on a billing question, as a real floor would look.
  const first = await s.call('081234567890')
  const second = await s.call('081298765432')
  t.not(first.agentId, second.agentId, 'one call per agent')
  const inq2 = await s.http('POST', `/v1/calls/${second.callId}/inquiry`, second.token, { topic: 'billing', customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: true })
  t.equal(inq2.status, 200)

  const panel = watch(await context.newPage(), 'agent panel')

  await t.test('the agent panel: call, Aktivasi, exact script, consent, Direct Transfer 3', async t => {
    await panel.goto(`${base}/agent`)
    await signIn(panel, 'not-a-token')
    t.match(await panel.textContent('#signin-error:not([hidden]):not(:text("Memeriksa"))'), /^UNAUTHORIZED: unknown token/, 'a wrong token: the API\'s error, shown')
    await signIn(panel, TOKENS.supervisor)
    t.match(await panel.textContent('#signin-error:not([hidden]):not(:text("Memeriksa"))'), /bukan token agen/, 'the panel is for agent tokens')
    t.ok(await panel.isHidden('#panel'))
    await signIn(panel, first.token)
    await panel.waitForSelector('#panel:not([hidden])')
    t.equal(await panel.textContent('#who'), `Agen ${first.agentId}`, 'the token says which agent')
    await panel.waitForSelector(`#call-card[data-call-id="${first.callId}"]`)
    t.equal(await panel.textContent('#call-caller'), '081234567890', 'caller id')
    t.match(await panel.textContent('#call-since'), /^\d\d:\d\d:\d\d WIB$/, 'since when, Jakarta time')
    t.equal(await panel.getAttribute('#agent-state', 'data-state'), 'on_call')
    t.ok(await panel.isDisabled('#transfer'), 'no transfer before classifying')
    t.ok(await panel.isDisabled('#consent-yes'), 'no consent before classifying')

    await panel.click('[data-topic="activation"]')
    t.ok(await panel.isHidden('#f-area-wrap'), 'no area for activation')
    t.ok(await panel.isHidden('#f-plnmobile'), 'no PLN Mobile question for activation')
    await panel.fill('#f-name', 'Budi')
    await panel.check('input[name="salutation"][value="Bapak"]')
    await panel.click('#inquiry-submit')
    await panel.waitForSelector('#script:not([hidden])')
    t.equal(await panel.textContent('#script'), ACTIVATION_BAPAK_BUDI, 'the exact script of the SOP')
    t.equal(await panel.getAttribute('#action-badge', 'data-action'), 'transfer')
    t.ok((await panel.locator('#guidance li').count()) > 0, 'guidance shown')
    t.equal(await panel.textContent('#apkt-permasalahan'), 'ICONNET : TRANSFER CALL', 'the APKT record that will be posted')
    t.equal(await panel.getAttribute('#apkt-status', 'data-status'), 'planned')
    t.ok(await panel.isDisabled('#transfer'), 'still no transfer without consent')

    await panel.click('#consent-yes')
    await panel.waitForSelector('#consent-state[data-consent="accepted"]')
    await panel.waitForSelector('#transfer:not([disabled])')
    t.equal(await panel.textContent('#transfer-num'), '3', 'entry 3')

    await panel.click('#transfer')
    const arrived = await waitFor('the customer at 3@direct-transfer (ICONNET)', () =>
      s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === first.callId), 15_000)
    t.equal(arrived.fields.calleridnum, '081234567890', 'it is the customer who reached ICONNET')
    await panel.waitForSelector('#transfer-hint[data-transfer="completed"]')
    t.ok(await panel.isDisabled('#transfer'), 'no second press')
    t.ok(await panel.isDisabled('[data-topic="activation"]'), 'the finished call is read-only')
  })

  await t.test('the dashboard shows the agent in ACW', async t => {
    // When the API first says ACW, by asking it as the dashboard's own source would.
    let inAcw: number | undefined
    let last: unknown
    for (const deadline = Date.now() + 5000; inAcw === undefined && Date.now() < deadline;) {
      const view = await s.http('GET', `/v1/agents/${first.agentId}`, TOKENS.supervisor)
      last = view.body
      if (view.body?.state === 'acw') inAcw = Date.now()
      else await new Promise(resolve => setTimeout(resolve, 20))
    }
    if (inAcw === undefined) {
      t.fail(`the agent never entered ACW (GET /v1/agents/${first.agentId}: ${JSON.stringify(last)})`)
      return
    }
    await dash.waitForSelector(`.agent[data-agent="${first.agentId}"][data-state="acw"]`)
    t.pass('the dashboard shows the agent in ACW')
    t.comment(`${Date.now() - inAcw} ms after the service entered it`)
    const countdown = await dash.textContent(`.agent[data-agent="${first.agentId}"] [data-until]`)
    t.match(countdown, /^0:0[0-5]$/, 'with the time left')
    const other = `.agent[data-agent="${second.agentId}"][data-state="on_call"] .agent-call`
    t.match(await dash.textContent(other), /081298765432.*Tagihan/, 'the other agent on its call, with caller and topic')
  })

  await t.test('the panel shows ACW counting down', async t => {
    await panel.waitForSelector('#agent-state[data-state="acw"]')
    await panel.waitForSelector('#acw:not([hidden])')
    const a = Number(await panel.getAttribute('#acw-countdown', 'data-seconds'))
    t.ok(a >= 1 && a <= 5, `counting from at most the configured 5 s (${a})`)
    await panel.waitForFunction(n => Number((globalThis as any).document.getElementById('acw-countdown').dataset.seconds) < n, a)
    t.pass('and it counts down')
  })

  await t.test('the APKT record is delivered, on the dashboard and on the panel', async t => {
    await waitFor('the APKT receiver to get the record', () => apkt.received.find(r => r.callId === first.callId), 10_000)
    await panel.waitForSelector('#apkt-status[data-status="delivered"]', { timeout: 5000 })
    t.equal(await panel.textContent('#apkt-permasalahan'), 'ICONNET : TRANSFER CALL')
    t.match(await panel.textContent('#apkt-record'), /^[0-9a-f-]{36}$/, 'with the record id')
    await shoot(panel, 'agent-panel-after-transfer', 'agent-panel.png')
    const row = `#outbox tr[data-call-id="${first.callId}"]`
    await dash.waitForSelector(`${row}[data-status="delivered"]`, { timeout: 5000 })
    t.equal(await dash.textContent(`${row} .permasalahan`), 'ICONNET : TRANSFER CALL')
    const transfer = `#transfers tr[data-call-id="${first.callId}"][data-status="completed"]`
    t.match(await dash.textContent(transfer), /081234567890/, 'the transfer in today\'s list with its caller')
    // The sandbox's ICONNET answers at once: the row says where the customer landed.
    await dash.waitForSelector(`${transfer} .landing[data-landing="answered"]`, { timeout: 5000 })
    t.match(await dash.textContent(`${transfer} .landing`), /^(Dijawab|Answered)$/, 'landed: answered at ICONNET')
    await shoot(dash, 'dashboard-acw-delivered', 'dashboard.png')
  })

  await t.test('a record APKT refuses is dead on the dashboard until a supervisor retries it', async t => {
    apkt.refuse.add(second.callId)
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(second.callId)?.customerChannel ?? '' })
    const row = `#outbox tr[data-call-id="${second.callId}"]`
    await dash.waitForSelector(`${row}[data-status="dead"]`, { timeout: 10_000 })
    t.match(await dash.textContent(`${row}`), /422/, 'with APKT\'s answer')
    t.equal(await dash.textContent('#kpi-dead'), '1')
    await shoot(dash, 'dashboard-dead-record')
    apkt.refuse.delete(second.callId)
    await dash.click(`${row} button.retry`)
    await dash.waitForSelector(`${row}[data-status="delivered"]`, { timeout: 10_000 })
    t.ok(apkt.received.some(r => r.callId === second.callId), 'delivered after the retry')
    t.equal(await dash.textContent('#kpi-dead'), '0')
  })


  // Agent 1003 is added at run time (admin API) and is in no queue of queues.conf, so
  // its login, breaks and logout are its own; 1001 and 1002 go to a briefing, so the
  // next call can only reach 1003.
  const OWN_PHONE = 'Local/1003@agents/n'
  const TODAY_PHONE = 'Local/2003@agents/n'
  let token1003 = ''

  await t.test('the agent panel: login at today\'s phone, a wrap-up code, a pause asked in ACW, its timer, ready, logout', async t => {
    const put = await s.svc.app.inject({
      method: 'PUT',
      url: '/v1/admin/agents/1003',
      headers: { authorization: `Bearer ${TOKENS.admin}` },
      payload: { name: 'Dewi', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK', interface: OWN_PHONE }
    })
    t.equal(put.statusCode, 201, put.body)
    const issued = await s.http('POST', '/v1/admin/agents/1003/tokens', TOKENS.admin, { name: 'browser test' })
    t.equal(issued.status, 201)
    token1003 = issued.body.token
    for (const id of ['1001', '1002']) {
      const r = await s.http('POST', `/v1/agents/${id}/pause`, TOKENS.supervisor, { reason: 'BRIEFING' })
      t.ok(r.status === 200 || r.status === 202, `${id} to a briefing (${r.status})`)
    }
    // One of them may still be in ACW: paused for it, and for the briefing straight after.
    await eventually('1001 and 1002 paused', async () =>
      (await member(s, 'Local/1001@agents/n'))?.paused === true && (await member(s, 'Local/1002@agents/n'))?.paused === true)

    await panel.click('#signout')
    await panel.waitForSelector('#signin:not([hidden])')
    await signIn(panel, token1003)
    await panel.waitForSelector('#login-form:not([hidden])')
    t.equal(await panel.textContent('#who'), 'Agen 1003', 'a token issued at run time signs in')
    t.equal(await panel.inputValue('#login-interface'), OWN_PHONE, 'the agent\'s own phone by default')
    t.ok(await panel.isHidden('#pause'), 'no pause menu before the login')

    await panel.fill('#login-interface', 'SIPP/2003')
    await panel.click('#login')
    await panel.waitForSelector('#error[data-code="BAD_REQUEST"]:not([hidden])')
    t.match(await panel.textContent('#error-message'), /^interface: .*not allowed/, 'a refused phone: the API\'s message')
    t.equal(await member(s, 'SIPP/2003'), undefined, 'nothing reached Asterisk')

    await panel.fill('#login-interface', TODAY_PHONE)
    await panel.click('#login')
    await panel.waitForSelector('#shift-in:not([hidden])')
    t.ok(await panel.isHidden('#error'), 'the error is gone')
    t.equal(await panel.textContent('#shift-phone'), TODAY_PHONE, 'logged in at today\'s phone')
    t.same(await member(s, TODAY_PHONE), { paused: false, reason: '' }, 'a member of pln123 at that phone, unpaused')
    await panel.waitForSelector('#pause-menu .pause-reason[data-reason="SHOLAT"]')
    t.same(await panel.locator('#pause-menu .pause-reason').evaluateAll(bs => bs.map(b => (b as any).dataset.reason)), ['ISTIRAHAT', 'SHOLAT', 'BRIEFING', 'TOILET'], 'the configured reasons')

    const call = await s.call('081255501003')
    t.equal(call.agentId, '1003', 'the queue call reaches 1003')
    t.match(s.svc.tracker.get(call.callId)?.agentChannel, /^Local\/2003@agents-/, 'at the phone of today')
    await panel.waitForSelector(`#wrapup-card[data-call-id="${call.callId}"] #wrapup-form:not([hidden])`)
    t.match(await panel.textContent('#wrapup-state'), /TANPA_KODE/, 'the default a call gets without a choice')
    await panel.selectOption('#wrapup-code', 'TINDAK_LANJUT')
    await panel.fill('#wrapup-note', 'Telepon balik besok pagi')
    await panel.click('#wrapup-submit')
    await panel.waitForSelector('#wrapup-state[data-code="TINDAK_LANJUT"][data-final="false"]')
    t.match(await panel.textContent('#wrapup-state'), /^Tersimpan: Perlu tindak lanjut \(TINDAK_LANJUT\) pukul .*Telepon balik besok pagi/, 'the chosen code shown')
    t.match((await s.http('GET', `/v1/calls/${call.callId}`, TOKENS.supervisor)).body.wrapup, { code: 'TINDAK_LANJUT', note: 'Telepon balik besok pagi', source: 'agent', final: false }, 'and recorded')

    // The call ends: ACW. A break asked now is the next status, not a pause yet.
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(call.callId)?.customerChannel ?? '' })
    await panel.waitForSelector('#agent-state[data-state="acw"]')
    await panel.click('#pause-menu .pause-reason[data-reason="SHOLAT"]')
    await panel.waitForSelector('#next-status[data-next="SHOLAT"]:not([hidden])')
    t.equal(await panel.textContent('#next-status'), 'Setelah ACW: jeda Sholat', 'the next status shows during ACW')
    t.ok(await panel.isDisabled('#ready'), 'no ready during fixed ACW')
    t.match((await s.http('GET', '/v1/agents/1003', token1003)).body, { state: 'acw', next: { paused: true, reason: 'SHOLAT' } })
    t.equal((await member(s, TODAY_PHONE))?.reason, 'ACW', 'Asterisk: still paused for ACW')
    await shoot(panel, 'agent-panel-acw-next-status', 'agent-panel-shift.png')

    // A choice that arrives after ACW ended (this page's view held back meanwhile): 409
    // WRAPUP_CLOSED, shown as the final code, not as an error.
    const held: Route[] = []
    const callView = `**/v1/calls/${call.callId}`
    await panel.route(callView, route => { held.push(route) })
    await eventually('the wrap-up closed by ACW\'s end', async () => (await s.http('GET', `/v1/calls/${call.callId}`, TOKENS.supervisor)).body.wrapup?.final === true, 15_000)
    await panel.selectOption('#wrapup-code', 'SELESAI')
    await panel.click('#wrapup-submit')
    await panel.waitForSelector('#wrapup-closed[data-code="WRAPUP_CLOSED"]:not([hidden])')
    t.ok(await panel.isHidden('#error'), 'WRAPUP_CLOSED is no error banner')
    t.ok(await panel.isHidden('#wrapup-form'), 'the picker is closed')
    t.equal(await panel.textContent('#wrapup-state[data-final="true"]'), 'Final: Perlu tindak lanjut (TINDAK_LANJUT) · “Telepon balik besok pagi”', 'the final code shown')
    for (const r of held) await r.continue()
    await panel.unroute(callView)
    // A reload keeps the last call and its final code.
    await panel.reload()
    await panel.waitForSelector(`#wrapup-card[data-call-id="${call.callId}"] #wrapup-state[data-final="true"][data-code="TINDAK_LANJUT"]`)
    t.ok(await panel.isHidden('#wrapup-closed'), 'after a reload: the last call\'s final code, nothing to refuse')

    // ACW over: the break runs, with its timer.
    await panel.waitForSelector('#pause-status[data-reason="SHOLAT"]:not([hidden])')
    t.equal(await panel.textContent('#pause-label'), 'Jeda: Sholat')
    t.ok(await panel.isHidden('#next-status'), 'the next status is spent')
    t.same(await member(s, TODAY_PHONE), { paused: true, reason: 'SHOLAT' }, 'Asterisk: paused for SHOLAT')
    t.match((await s.http('GET', '/v1/agents/1003', TOKENS.supervisor)).body, { state: 'paused', pauseReason: 'SHOLAT' })
    const started = Number(await panel.getAttribute('#pause-timer', 'data-seconds'))
    await panel.waitForFunction(n => Number((globalThis as any).document.getElementById('pause-timer').dataset.seconds) > n, started)
    t.pass('the pause timer runs')
    await panel.click('#lang')
    t.equal(await panel.textContent('#pause-label'), 'Paused: Sholat', 'in English too')
    await panel.click('#lang')

    // Over its maxMinutes (15 for SHOLAT): the service's flag, set on this page's view
    // (the shift tests make the service raise it), is shown.
    const agentView = '**/v1/agents/1003'
    await panel.route(agentView, async route => {
      const res = await route.fetch()
      await route.fulfill({ response: res, json: { ...(await res.json()), pauseOverMax: true } })
    })
    await panel.waitForSelector('#pause-status[data-over-max="true"]')
    t.equal(await panel.textContent('#pause-over'), 'Lewat 15 menit', 'over-max shown with the reason\'s limit')
    await panel.unroute(agentView)
    await panel.waitForSelector('#pause-status[data-over-max="false"]')

    await panel.click('#ready')
    await panel.waitForSelector('#agent-state[data-state="ready"]')
    t.ok(await panel.isHidden('#pause-status'), 'no pause shown')
    t.same(await member(s, TODAY_PHONE), { paused: false, reason: '' }, 'Asterisk: unpaused')

    await panel.click('#logout')
    await panel.waitForSelector('#login-form:not([hidden])')
    t.equal(await panel.inputValue('#login-interface'), OWN_PHONE, 'the next login offers the own phone again')
    t.equal(await member(s, TODAY_PHONE), undefined, 'Asterisk: no member at that phone')
    t.match((await s.http('GET', '/v1/agents/1003', TOKENS.supervisor)).body, { state: 'offline', loggedOut: true })
  })

  await t.test('the pages never put a token in a URL and raise no script errors', async t => {
    const leaked = urls.filter(u => Object.values(TOKENS).some(tok => u.includes(tok)) || u.includes(first.token) || (token1003 !== '' && u.includes(token1003)))
    t.same(leaked, [], 'no token in any request URL')
    t.notOk(urls.some(u => !u.startsWith(base)), 'nothing fetched from elsewhere')
    t.same(problems, [], 'no page errors')
  })
})
