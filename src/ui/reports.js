// The reports page ("Laporan", supervisor token): a date range in Jakarta days, per hour
// or per day; the summary and the agents' report (CONTRACT.md section 8) as charts drawn
// by chart.js (served by the service: window.Chart from /ui/vendor/chart.umd.min.js),
// tables beside them, and each report as a CSV download. Plain client of the report API:
// it checks the dates, and its 400 (naming the field) shows in the error box.
import { ApiError, createApi, duration, h, jakartaDay, resumeSession, session, noticeBox, showErrorBox, showSignIn, timeOf, wireSignInForm } from './api.js'
import { langToggle, onLangChange, t } from './i18n.js'

// The dashboard's key: a supervisor signed in there is signed in here in the same tab.
const TOKEN_KEY = 'pln123.supervisor.token'
const DEFAULT_DAYS = 7

const COLORS = {
  blue: '#0a4d8c', cyan: '#0096c7', green: '#1a8f4b', red: '#c62828', amber: '#c77700', violet: '#6a4fb3', grey: '#7b8794', yellow: '#f6c700'
}
const SERIES = [COLORS.blue, COLORS.cyan, COLORS.amber, COLORS.violet, COLORS.green, COLORS.grey, COLORS.red, COLORS.yellow]

const $ = (id) => document.getElementById(id)

const st = {
  api: undefined,
  token: undefined,
  /** the answers shown: { from, to, interval, serviceLevelSeconds, rows } and { from, to, rows } */
  summary: undefined,
  agents: undefined,
  /** pause reason code → label, wrap-up code → label (best effort: the codes otherwise) */
  reasonLabels: new Map(),
  wrapupLabels: new Map(),
  generation: 0
}

// ---- errors and notices -------------------------------------------------------------

function showError (err) { showErrorBox(err, signOut) }

function clearError () { $('error').hidden = true; delete $('error').dataset.code }

const notice = noticeBox(4000)

// ---- dates ----------------------------------------------------------------------------

/** YYYY-MM-DD plus n days (calendar arithmetic, no zone involved). */
function addDays (day, n) {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)
}

function chosen () {
  const interval = document.querySelector('#interval input:checked')?.value ?? 'day'
  return { from: $('from').value, to: $('to').value, interval }
}

function query (report, c, format) {
  const p = new URLSearchParams({ from: c.from, to: c.to })
  if (report === 'summary') p.set('interval', c.interval)
  if (format !== undefined) p.set('format', format)
  return `/v1/reports/${report}?${p}`
}

// ---- sign in / out ------------------------------------------------------------------

async function signIn (token) {
  const api = createApi(token)
  // The summary is supervisor-only: reading it proves the role and fills the page.
  const c = chosen()
  const [summary, agents] = await Promise.all([api.get(query('summary', c)), api.get(query('agents', c))])
  st.api = api
  st.token = token
  st.generation++
  session.set(TOKEN_KEY, token)
  $('signin').hidden = true
  $('reports').hidden = false
  $('signout').hidden = false
  const generation = st.generation
  // Labels for the codes (best effort).
  void Promise.all([
    api.get('/v1/pause-reasons').then(r => { st.reasonLabels = new Map(r.reasons.map(x => [x.code, x.label])) }, () => {}),
    api.get('/v1/wrapup-codes').then(r => { st.wrapupLabels = new Map(r.codes.map(x => [x.code, x.label])) }, () => {})
  ]).then(() => { if (generation === st.generation) render() })
  show(summary, agents)
}

function signOut (reason) {
  st.generation++
  session.clear(TOKEN_KEY)
  st.api = undefined
  st.token = undefined
  st.summary = undefined
  st.agents = undefined
  for (const canvas of document.querySelectorAll('canvas')) window.Chart?.getChart(canvas)?.destroy()
  $('reports').hidden = true
  $('signout').hidden = true
  clearError()
  showSignIn(reason)
}

async function load () {
  if (st.api === undefined) return
  const c = chosen()
  const generation = st.generation
  $('reports').dataset.state = 'loading'
  $('range-state').textContent = t('rep.loading')
  try {
    const [summary, agents] = await Promise.all([st.api.get(query('summary', c)), st.api.get(query('agents', c))])
    if (generation !== st.generation) return
    clearError()
    show(summary, agents)
  } catch (err) {
    if (generation !== st.generation) return
    $('reports').dataset.state = 'error'
    $('range-state').textContent = ''
    showError(err)
  }
}

function show (summary, agents) {
  st.summary = summary
  st.agents = agents
  render()
  $('reports').dataset.state = 'ready'
  $('reports').dataset.range = `${summary.from}/${summary.to}/${summary.interval}`
}

/**
 * A CSV download: the token goes in the Authorization header (never in a URL), so the
 * file is fetched here and handed to the browser as a blob under the service's name.
 */
async function downloadCsv (report) {
  if (st.token === undefined) return
  const url = query(report, chosen(), 'csv')
  let res
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${st.token}`, accept: 'text/csv' }, cache: 'no-store' })
  } catch (err) {
    showError(new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err)))
    return
  }
  if (!res.ok) {
    let body
    try { body = await res.json() } catch {}
    showError(new ApiError(res.status, body?.error ?? `HTTP_${res.status}`, body?.message ?? res.statusText))
    return
  }
  const blob = await res.blob()
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `laporan-${report}.csv`
  const href = URL.createObjectURL(blob)
  const a = h('a', { href, download: name, hidden: true })
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(href), 10_000)
  notice(t('rep.downloaded', { name }))
}

// ---- figures --------------------------------------------------------------------------

const sum = (xs) => xs.reduce((a, b) => a + b, 0)
const total = (rec) => sum(Object.values(rec ?? {}))

/** Adds up keyed counts (topics, pause reasons, wrap-ups) over rows. */
function merged (rows, pick) {
  const out = {}
  for (const r of rows) for (const [k, v] of Object.entries(pick(r))) out[k] = (out[k] ?? 0) + v
  return out
}

function totals (rows) {
  const offered = sum(rows.map(r => r.offered))
  const answered = sum(rows.map(r => r.answered))
  // Each row's level is its within-target answers over its offered: weighting by offered gives the range's.
  const withinTarget = sum(rows.map(r => (r.serviceLevel ?? 0) * r.offered))
  const waited = sum(rows.map(r => (r.avgWaitSeconds ?? 0) * r.answered))
  return {
    offered,
    answered,
    abandoned: sum(rows.map(r => r.abandoned)),
    serviceLevel: offered > 0 ? withinTarget / offered : null,
    avgWaitSeconds: answered > 0 ? waited / answered : null,
    transfers: {
      completed: sum(rows.map(r => r.transfers.completed)),
      failed: sum(rows.map(r => r.transfers.failed)),
      answeredAtTarget: sum(rows.map(r => r.transfers.answeredAtTarget)),
      abandonedAtTarget: sum(rows.map(r => r.transfers.abandonedAtTarget))
    },
    acwSeconds: sum(rows.map(r => r.acwSeconds)),
    pauseSeconds: merged(rows, r => r.pauseSeconds),
    byTopic: merged(rows, r => r.byTopic),
    wrapups: merged(rows, r => r.wrapups),
    apkt: {
      delivered: sum(rows.map(r => r.apkt.delivered)),
      pending: sum(rows.map(r => r.apkt.pending)),
      dead: sum(rows.map(r => r.apkt.dead))
    }
  }
}

const percent = (x) => x === null || x === undefined ? '—' : `${Math.round(x * 1000) / 10}%`
const seconds = (x) => x === null || x === undefined ? '—' : `${Math.round(x)} ${t('rep.s')}`
const hms = (s) => duration(s * 1000)
const minutes = (s) => Math.round(s / 6) / 10

/** `2026-12-01T08:00:00+07:00` → `2026-12-01` by day, `12-01 08:00` by hour (the service's own Jakarta time). */
function intervalLabel (iso, interval) {
  return interval === 'day' ? iso.slice(0, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`
}

const topicLabel = (id) => { const k = `topic.${id}`; const l = t(k); return l === k ? id : l }
const reasonLabel = (code) => st.reasonLabels.get(code) ?? code
const wrapupLabel = (code) => st.wrapupLabels.get(code) ?? code

// ---- rendering ------------------------------------------------------------------------

function render () {
  if (st.summary === undefined || st.agents === undefined) return
  const { rows, interval, serviceLevelSeconds } = st.summary
  const all = totals(rows)
  const slTitle = t('rep.sl', { s: serviceLevelSeconds })
  $('kpi-offered').textContent = String(all.offered)
  $('kpi-answered').textContent = String(all.answered)
  $('kpi-abandoned').textContent = String(all.abandoned)
  $('kpi-sl').textContent = percent(all.serviceLevel)
  $('kpi-sl-label').textContent = slTitle
  $('kpi-wait').textContent = seconds(all.avgWaitSeconds)
  $('kpi-transfers').textContent = String(all.transfers.completed)
  $('col-sl').textContent = slTitle
  $('range-state').textContent = t('rep.shown', { from: st.summary.from, to: st.summary.to, time: timeOf(new Date().toISOString()) })

  renderSummary(rows, interval, all)
  renderKeyed('topics', all.byTopic, topicLabel)
  renderKeyed('wrapups', all.wrapups, wrapupLabel)
  renderTransfers(all.transfers)
  renderAgents(st.agents.rows)
  drawCharts(rows, interval, all, st.agents.rows, slTitle)
}

function cell (field, value, text, cls = 'num') {
  return h('td', { class: cls, dataset: { field, value: value === null ? '' : String(value) } }, text ?? String(value))
}

function renderSummary (rows, interval, all) {
  const line = (label, r, attrs) => h('tr', attrs,
    h('td', { class: 'mono' }, label),
    cell('offered', r.offered),
    cell('answered', r.answered),
    cell('abandoned', r.abandoned),
    cell('serviceLevel', r.serviceLevel, percent(r.serviceLevel)),
    cell('avgWaitSeconds', r.avgWaitSeconds, seconds(r.avgWaitSeconds)),
    cell('transfers', r.transfers.completed, r.transfers.failed > 0 ? `${r.transfers.completed} (${t('rep.failedN', { n: r.transfers.failed })})` : String(r.transfers.completed)),
    cell('acwSeconds', r.acwSeconds, hms(r.acwSeconds)),
    cell('pauseSeconds', total(r.pauseSeconds), hms(total(r.pauseSeconds))),
    h('td', { class: 'num', dataset: { field: 'apkt', value: String(r.apkt.delivered + r.apkt.pending + r.apkt.dead) }, title: t('rep.apktTitle', r.apkt) },
      String(r.apkt.delivered + r.apkt.pending + r.apkt.dead), r.apkt.dead > 0 ? h('span', { class: 'pill', dataset: { status: 'dead' } }, String(r.apkt.dead)) : null)
  )
  // Hours with nothing offered and nothing done are left out of the table (the chart keeps them).
  const busy = (r) => r.offered > 0 || r.acwSeconds > 0 || total(r.pauseSeconds) > 0 || total(r.wrapups) > 0 || r.apkt.delivered + r.apkt.pending + r.apkt.dead > 0
  const shown = interval === 'hour' ? rows.filter(busy) : rows
  $('summary').replaceChildren(...shown.map(r => line(intervalLabel(r.interval, interval), r, { dataset: { interval: r.interval } })))
  $('summary-total').replaceChildren(line(t('rep.total'), all, { class: 'total', dataset: { interval: 'total' } }))
  $('summary-empty').hidden = shown.length > 0
}

function renderKeyed (id, counts, label) {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  $(id).replaceChildren(...(entries.length === 0
    ? [h('tr', {}, h('td', { class: 'empty' }, t('rep.none')))]
    : entries.map(([k, v]) => h('tr', { dataset: { key: k } }, h('td', {}, label(k)), cell('count', v)))))
}

function renderTransfers (tr) {
  const items = [['completed', 'rep.tr.completed'], ['failed', 'rep.tr.failed'], ['answeredAtTarget', 'rep.tr.answered'], ['abandonedAtTarget', 'rep.tr.abandoned']]
  $('transfers').replaceChildren(...items.map(([k, key]) => h('tr', { dataset: { key: k } }, h('td', {}, t(key)), cell('count', tr[k]))))
}

function renderAgents (rows) {
  $('agents').replaceChildren(...rows.map(r => h('tr', { dataset: { agent: r.agentId } },
    h('td', { class: 'mono' }, r.agentId),
    h('td', {}, r.name ?? '—'),
    cell('calls', r.calls),
    cell('talkSeconds', r.talkSeconds, hms(r.talkSeconds)),
    cell('acwSeconds', r.acwSeconds, hms(r.acwSeconds)),
    cell('pauseSeconds', total(r.pauseSeconds), hms(total(r.pauseSeconds))),
    h('td', { class: 'small' }, Object.entries(r.pauseSeconds).map(([k, v]) => `${reasonLabel(k)} ${hms(v)}`).join(', ') || '—'),
    cell('transfers', r.transfers),
    h('td', { class: 'small' }, Object.entries(r.wrapups).map(([k, v]) => `${wrapupLabel(k)} ${v}`).join(', ') || '—')
  )))
  $('agents-empty').hidden = rows.length > 0
  $('agents-table').hidden = rows.length === 0
}

// ---- charts ---------------------------------------------------------------------------

/** Draws a chart on the canvas, replacing the one there. No animation: the figures are history, and a screenshot shows them whole. */
function chart (id, config, label) {
  const Chart = window.Chart
  if (Chart === undefined) throw new Error('chart.js did not load (/ui/vendor/chart.umd.min.js)')
  const canvas = $(id)
  Chart.getChart(canvas)?.destroy()
  // A canvas says nothing to a screen reader: it is named by what it shows (the table beside holds the numbers).
  canvas.setAttribute('role', 'img')
  canvas.setAttribute('aria-label', label)
  return new Chart(canvas, {
    ...config,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      ...config.options,
      plugins: { legend: { position: 'bottom' }, ...config.options?.plugins }
    }
  })
}

function drawCharts (rows, interval, all, agentRows, slTitle) {
  const labels = rows.map(r => intervalLabel(r.interval, interval))
  chart('chart-calls', {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: t('rep.offered'), data: rows.map(r => r.offered), backgroundColor: COLORS.blue },
        { label: t('rep.answered'), data: rows.map(r => r.answered), backgroundColor: COLORS.green },
        { label: t('rep.abandoned'), data: rows.map(r => r.abandoned), backgroundColor: COLORS.red }
      ]
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { title: { display: true, text: t('rep.chart.calls') } } }
  }, t('rep.chart.calls'))
  chart('chart-sl', {
    type: 'line',
    data: {
      labels,
      datasets: [{ label: slTitle, data: rows.map(r => r.serviceLevel === null ? null : Math.round(r.serviceLevel * 1000) / 10), borderColor: COLORS.cyan, backgroundColor: COLORS.cyan, spanGaps: true, tension: 0.2 }]
    },
    options: { scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } }, plugins: { title: { display: true, text: t('rep.chart.sl') } } }
  }, t('rep.chart.sl'))
  const topics = Object.entries(all.byTopic).sort((a, b) => b[1] - a[1])
  chart('chart-topics', {
    type: 'doughnut',
    data: { labels: topics.map(([k]) => topicLabel(k)), datasets: [{ data: topics.map(([, v]) => v), backgroundColor: topics.map((_, i) => SERIES[i % SERIES.length]) }] },
    options: { plugins: { legend: { position: 'bottom' } } }
  }, t('rep.topics'))
  const tr = all.transfers
  chart('chart-transfers', {
    type: 'bar',
    data: {
      labels: [t('rep.tr.completed'), t('rep.tr.failed'), t('rep.tr.answered'), t('rep.tr.abandoned')],
      datasets: [{ label: t('rep.transfers'), data: [tr.completed, tr.failed, tr.answeredAtTarget, tr.abandonedAtTarget], backgroundColor: [COLORS.blue, COLORS.red, COLORS.green, COLORS.grey] }]
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } }
  }, t('rep.transfersTitle'))
  const reasons = [...new Set(agentRows.flatMap(r => Object.keys(r.pauseSeconds)))].sort()
  chart('chart-agents', {
    type: 'bar',
    data: {
      labels: agentRows.map(r => r.name !== undefined ? `${r.agentId} ${r.name}` : r.agentId),
      datasets: [
        { label: t('rep.col.acw'), data: agentRows.map(r => minutes(r.acwSeconds)), backgroundColor: COLORS.amber, stack: 'time' },
        ...reasons.map((code, i) => ({ label: `${t('rep.pause')}: ${reasonLabel(code)}`, data: agentRows.map(r => minutes(r.pauseSeconds[code] ?? 0)), backgroundColor: SERIES[(i + 3) % SERIES.length], stack: 'time' }))
      ]
    },
    options: {
      indexAxis: 'y',
      scales: { x: { stacked: true, beginAtZero: true, title: { display: true, text: t('rep.minutes') } }, y: { stacked: true } },
      plugins: { title: { display: true, text: t('rep.chart.agents') } }
    }
  }, t('rep.chart.agents'))
  const wrapups = Object.entries(all.wrapups).sort((a, b) => b[1] - a[1])
  chart('chart-wrapups', {
    type: 'bar',
    data: { labels: wrapups.map(([k]) => wrapupLabel(k)), datasets: [{ label: t('rep.wrapups'), data: wrapups.map(([, v]) => v), backgroundColor: COLORS.violet }] },
    options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { display: false } } }
  }, t('rep.wrapups'))
}

// ---- wiring ----------------------------------------------------------------------------

function wire () {
  langToggle($('lang'))
  onLangChange(() => { if (st.api !== undefined) render() })
  $('error-close').addEventListener('click', clearError)
  $('signout').addEventListener('click', () => signOut())
  wireSignInForm(signIn, () => t('signin.checking'))
  const today = jakartaDay()
  $('to').value = today
  $('from').value = addDays(today, -(DEFAULT_DAYS - 1))
  $('range-form').addEventListener('submit', (ev) => { ev.preventDefault(); void load() })
  for (const r of document.querySelectorAll('#interval input')) r.addEventListener('change', () => { void load() })
  for (const b of document.querySelectorAll('button.csv')) b.addEventListener('click', () => { void downloadCsv(b.dataset.report) })
}

wire()
resumeSession(TOKEN_KEY, signIn, signOut)
