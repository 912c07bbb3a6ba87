// The Laporan page in real headless Chromium (Debian's chromium driven by playwright-core)
// against the whole service (real wiring, SQLite) holding a known history of report facts
// (test/helpers/report-facts.ts): reached from the dashboard's link signed in, a range
// picked, every chart drawn by chart.js (served by the service) with the API's figures,
// the tables' numbers the API's, the CSV buttons download the API's CSV, a bad range
// shows the API's 400, and nothing goes wrong in the page. Screenshot: .tap/screenshots/
// reports/, with UPDATE_SCREENSHOTS=1 also docs/screenshots/laporan.png for the README.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { launch, pageProblems, screenshots, signIn } from './chromium.ts'
import { TOKENS } from '../helpers/config.ts'
import { needPart } from '../helpers/real-parts.ts'
import { startAppStack } from '../helpers/app-stack.ts'
import { BUSY_WEEK, EXPECTED, FORMULA_AGENT, RANGE, seedBusyWeek, seedReportFacts } from '../helpers/report-facts.ts'

const shoot = screenshots('reports')

t.test('the Laporan page in headless Chromium', async t => {
  const browser = await needPart(t, 'chromium', launch)
  if (browser === undefined) return
  t.teardown(() => browser.close())

  const s = await startAppStack(t)
  const put = await s.request('PUT', `/v1/admin/agents/${FORMULA_AGENT.id}`, { token: TOKENS.admin, body: { name: FORMULA_AGENT.name, queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' } })
  t.equal(put.status, 201, put.text)
  for (const a of BUSY_WEEK.agents) {
    const r = await s.request('PUT', `/v1/admin/agents/${a.id}`, { token: TOKENS.admin, body: { name: a.name, queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' } })
    t.equal(r.status, 201, r.text)
  }
  await seedReportFacts(s.svc.store)
  await seedBusyWeek(s.svc.store)
  const base = `http://127.0.0.1:${(s.svc.app.server.address() as AddressInfo).port}`
  const api = async (path: string): Promise<any> => (await s.get(path, TOKENS.supervisor)).body

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'id-ID', timezoneId: 'Asia/Jakarta', acceptDownloads: true })
  t.teardown(() => context.close())
  const urls: string[] = []
  context.on('request', r => { urls.push(r.url()) })
  const { problems, watch } = pageProblems()
  const page = watch(await context.newPage(), 'reports')

  await t.test('a wrong role is refused; from the dashboard\'s link, signed in, the last 7 days', async t => {
    await page.goto(`${base}/reports`)
    await signIn(page, TOKENS.agent1001)
    t.match(await page.textContent('#signin-error:not([hidden]):not(:text("Memeriksa"))'), /^FORBIDDEN: /, 'an agent token is refused, in the API\'s words')

    await page.goto(`${base}/`)
    t.equal(await page.getAttribute('#nav-reports', 'href'), '/reports', 'the dashboard links to the reports')
    await signIn(page, TOKENS.supervisor)
    await page.waitForSelector('#board:not([hidden])')
    await page.click('#nav-reports')
    await page.waitForSelector('#reports[data-state="ready"]')
    t.ok(await page.isHidden('#signin'), 'the dashboard\'s sign-in holds here (same tab)')
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Jakarta' }).format(new Date())
    const weekAgo = new Date(Date.parse(`${today}T00:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10)
    t.equal(await page.inputValue('#to'), today, 'to: today in Jakarta')
    t.equal(await page.inputValue('#from'), weekAgo, 'from: six days before, so seven days')
    t.equal(await page.getAttribute('#reports', 'data-range'), `${weekAgo}/${today}/day`)
  })

  await t.test('a range by day: charts drawn with the API\'s figures, tables the API\'s numbers', async t => {
    await page.fill('#from', RANGE.from)
    await page.fill('#to', RANGE.to)
    await page.click('#interval label:has(input[value="day"])')
    await page.click('#show')
    await page.waitForSelector(`#reports[data-state="ready"][data-range="${RANGE.from}/${RANGE.to}/day"]`)
    const summary = await api(`/v1/reports/summary?from=${RANGE.from}&to=${RANGE.to}&interval=day`)
    const agents = await api(`/v1/reports/agents?from=${RANGE.from}&to=${RANGE.to}`)
    t.equal(summary.rows.length, 2, 'two days')
    t.match(summary.rows[0], EXPECTED.day1, 'the API adds up the facts (1 December)')
    t.match(summary.rows[1], EXPECTED.day2, '(2 December)')

    // chart.js drew each canvas, with the API's numbers.
    const charts = await page.evaluate(() => {
      const g = globalThis as any
      return Object.fromEntries([...g.document.querySelectorAll('canvas')].map((c: any) => {
        const ch = g.Chart?.getChart(c)
        return [c.id, ch === undefined ? null : { type: ch.config.type, labels: ch.data.labels, data: ch.data.datasets.map((d: any) => d.data), width: c.width, height: c.height }]
      }))
    })
    for (const id of ['chart-calls', 'chart-sl', 'chart-topics', 'chart-transfers', 'chart-agents', 'chart-wrapups']) {
      t.ok(charts[id] !== null && charts[id] !== undefined, `${id}: chart.js drew it`)
      t.ok((charts[id]?.width ?? 0) > 0 && (charts[id]?.height ?? 0) > 0, `${id}: with a size`)
    }
    t.equal(await page.getAttribute('#chart-calls', 'aria-label'), 'Panggilan per interval', 'a chart is named for screen readers')
    t.same(charts['chart-calls'].labels, ['2026-12-01', '2026-12-02'])
    t.same(charts['chart-calls'].data, [summary.rows.map((r: any) => r.offered), summary.rows.map((r: any) => r.answered), summary.rows.map((r: any) => r.abandoned)], 'calls and abandons per day')
    t.same(charts['chart-sl'].data[0], summary.rows.map((r: any) => Math.round(r.serviceLevel * 1000) / 10), 'service level per day, in percent')
    t.same(charts['chart-topics'].data[0].slice().sort(), [2, 1, 1].sort(), 'topics over the range')
    t.same(charts['chart-transfers'].data[0], [1, 1, 1, 0], 'transfers: completed, failed, answered and abandoned at ICONNET')
    t.same(charts['chart-agents'].labels, agents.rows.map((r: any) => r.name !== undefined ? `${r.agentId} ${r.name}` : r.agentId), 'an agent per bar')
    t.same(charts['chart-agents'].data[0], agents.rows.map((r: any) => Math.round(r.acwSeconds / 6) / 10), 'ACW minutes per agent')

    const cells = async (sel: string): Promise<Record<string, string>> => await page.$$eval(`${sel} td[data-field]`, tds => Object.fromEntries(tds.map(td => [(td as any).dataset.field, (td as any).dataset.value])))
    for (const row of summary.rows) {
      const got = await cells(`#summary tr[data-interval="${row.interval}"]`)
      t.same(got, {
        offered: String(row.offered),
        answered: String(row.answered),
        abandoned: String(row.abandoned),
        serviceLevel: row.serviceLevel === null ? '' : String(row.serviceLevel),
        avgWaitSeconds: row.avgWaitSeconds === null ? '' : String(row.avgWaitSeconds),
        transfers: String(row.transfers.completed),
        acwSeconds: String(row.acwSeconds),
        pauseSeconds: String(Object.values(row.pauseSeconds as Record<string, number>).reduce((a, b) => a + b, 0)),
        apkt: String(row.apkt.delivered + row.apkt.pending + row.apkt.dead)
      }, `the table's ${row.interval.slice(0, 10)}: the API's numbers`)
    }
    t.equal(await page.textContent('#summary tr[data-interval="2026-12-01T00:00:00+07:00"] td[data-field="serviceLevel"]'), '40%')
    t.equal(await page.textContent('#kpi-offered'), '6', 'the range\'s offered')
    t.equal(await page.textContent('#kpi-sl'), '50%', 'the range\'s service level: 3 of 6 within 20 s')
    t.equal(await page.textContent('#topics tr[data-key="billing"] td[data-field="count"]'), '2')
    t.equal(await page.textContent('#transfers tr[data-key="answeredAtTarget"] td[data-field="count"]'), '1')
    for (const row of agents.rows) {
      const got = await cells(`#agents tr[data-agent="${row.agentId}"]`)
      t.same(got, { calls: String(row.calls), talkSeconds: String(row.talkSeconds), acwSeconds: String(row.acwSeconds), pauseSeconds: String(Object.values(row.pauseSeconds as Record<string, number>).reduce((a, b) => a + b, 0)), transfers: String(row.transfers) }, `agent ${row.agentId}: the API's numbers`)
    }
    t.equal(await page.textContent(`#agents tr[data-agent="${FORMULA_AGENT.id}"] td:nth-child(2)`), FORMULA_AGENT.name, 'the agent\'s name from the directory, as text')
    await shoot(page, 'laporan-range')
  })

  await t.test('the CSV buttons download the API\'s CSV', async t => {
    for (const report of ['summary', 'agents']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`button.csv[data-report="${report}"]`)])
      t.equal(download.suggestedFilename(), `laporan-${report}-${RANGE.from}-${RANGE.to}.csv`, `${report}: named for the range`)
      const file = await download.path()
      const got = await readFile(file, 'utf8')
      const want = (await s.request('GET', `/v1/reports/${report}?from=${RANGE.from}&to=${RANGE.to}${report === 'summary' ? '&interval=day' : ''}`, { token: TOKENS.supervisor, headers: { accept: 'text/csv' } })).text
      t.equal(got, want, `${report}: the API's CSV`)
      t.ok(got.split('\r\n').length > 2, `${report}: a header and rows`)
    }
    t.ok(urls.every(u => !/[?&]token=|Bearer/.test(u)), 'no token in any URL')
  })

  await t.test('by hour: the busy hours in the table, every hour in the chart', async t => {
    await page.click('#interval label:has(input[value="hour"])') // the radio itself is hidden under its label's span
    await page.waitForSelector(`#reports[data-state="ready"][data-range="${RANGE.from}/${RANGE.to}/hour"]`)
    const summary = await api(`/v1/reports/summary?from=${RANGE.from}&to=${RANGE.to}&interval=hour`)
    t.equal(summary.rows.length, 48, '48 hours')
    const shown = await page.$$eval('#summary tr', trs => trs.map(tr => (tr as any).dataset.interval))
    t.same(shown, summary.rows.filter((r: any) => r.offered > 0 || r.acwSeconds > 0 || Object.keys(r.pauseSeconds).length > 0 || Object.keys(r.wrapups).length > 0 || r.apkt.delivered + r.apkt.pending + r.apkt.dead > 0).map((r: any) => r.interval), 'the hours something happened in')
    t.ok(shown.includes('2026-12-01T23:00:00+07:00') && shown.includes('2026-12-02T00:00:00+07:00'), 'the calls on both sides of midnight, each in its hour')
    const bars = await page.evaluate(() => (globalThis as any).Chart.getChart((globalThis as any).document.getElementById('chart-calls')).data.datasets[0].data)
    t.same(bars, summary.rows.map((r: any) => r.offered), 'the chart has all 48 hours')
  })

  await t.test('a bad range shows the API\'s 400; English', async t => {
    await page.fill('#from', '2026-12-03')
    await page.fill('#to', '2026-12-01')
    await page.click('#show')
    await page.waitForSelector('#error:not([hidden])[data-code="BAD_REQUEST"]')
    t.match(await page.textContent('#error-message'), /^querystring\.from: 2026-12-03 is after to/, 'naming the field')
    await page.fill('#from', RANGE.from)
    await page.fill('#to', RANGE.to)
    await page.click('#show')
    await page.waitForSelector('#error[hidden]', { state: 'attached' })
    await page.click('#lang')
    t.equal(await page.textContent('#calls-card h2'), 'Calls and abandons')
    t.equal(await page.textContent('#kpi-sl-label'), 'Service level (20 s)')
    const legend = await page.evaluate(() => (globalThis as any).Chart.getChart((globalThis as any).document.getElementById('chart-calls')).data.datasets.map((d: any) => d.label))
    t.same(legend, ['Offered', 'Answered', 'Abandoned in queue'], 'the charts too')
    await page.click('#lang')
  })

  await t.test('a busy week: the page\'s totals are the API\'s (the README\'s screenshot)', async t => {
    await page.fill('#from', BUSY_WEEK.from)
    await page.fill('#to', BUSY_WEEK.to)
    await page.click('#interval label:has(input[value="day"])')
    await page.click('#show')
    await page.waitForSelector(`#reports[data-state="ready"][data-range="${BUSY_WEEK.from}/${BUSY_WEEK.to}/day"]`)
    const summary = await api(`/v1/reports/summary?from=${BUSY_WEEK.from}&to=${BUSY_WEEK.to}&interval=day`)
    const agents = await api(`/v1/reports/agents?from=${BUSY_WEEK.from}&to=${BUSY_WEEK.to}`)
    const sum = (f: (r: any) => number): number => summary.rows.reduce((a: number, r: any) => a + f(r), 0)
    t.ok(sum(r => r.offered) > 300, `a week of calls (${sum(r => r.offered)})`)
    t.equal(await page.getAttribute('#summary-total td[data-field="offered"]', 'data-value'), String(sum(r => r.offered)), 'the total row: offered')
    t.equal(await page.getAttribute('#summary-total td[data-field="abandoned"]', 'data-value'), String(sum(r => r.abandoned)), 'abandoned')
    t.equal(await page.getAttribute('#summary-total td[data-field="transfers"]', 'data-value'), String(sum(r => r.transfers.completed)), 'transfers')
    t.equal(Number(await page.getAttribute('#summary-total td[data-field="serviceLevel"]', 'data-value')).toFixed(4), (sum(r => (r.serviceLevel ?? 0) * r.offered) / sum(r => r.offered)).toFixed(4), 'the week\'s service level, weighted by offered')
    t.same(await page.$$eval('#agents tr', trs => trs.map(tr => (tr as any).dataset.agent)), agents.rows.map((r: any) => r.agentId), 'every agent of the API, in its order')
    t.equal(await page.textContent('#agents tr[data-agent="1005"] td:nth-child(2)'), 'Sari Dewi')
    await page.waitForSelector('#notice', { state: 'hidden' }) // the download's notice, gone by itself
    await shoot(page, 'laporan', 'laporan.png')
  })

  t.test('no page problems, nothing from elsewhere', async t => {
    t.same(problems, [], 'no uncaught errors or console errors (CSP included)')
    t.same(urls.filter(u => !u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:')), [], 'every request to the service')
    t.ok(urls.includes(`${base}/ui/vendor/chart.umd.min.js`), 'chart.js from the service')
  })
})
