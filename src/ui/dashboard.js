// The supervisor dashboard: live from GET /v1/events (a snapshot, then agent, call,
// AMI and APKT changes), plus the APKT outbox read from its own route, since delivery
// happens after the call's last event.
import { createApi, duration, h, jakartaDay, resumeSession, secondsUntil, session, noticeBox, showErrorBox, showSignIn, timeOf, wireSignInForm } from './api.js'
import { langToggle, onLangChange, t } from './i18n.js'
import { openEventStream } from './sse.js'

const TOKEN_KEY = 'pln123.supervisor.token'
const ACTIVE = new Set(['offered', 'connected', 'transferring'])
// Faster while something is pending, so a delivery shows up soon after it happens.
const OUTBOX_POLL_MS = { pending: 1000, idle: 3000 }
const TRANSFER_CALL = 'ICONNET : TRANSFER CALL'

const $ = (id) => document.getElementById(id)

const st = {
  api: undefined,
  stream: undefined,
  streamState: { state: 'connecting' },
  agents: new Map(),
  /** agentId → pausedSince of a pause the feed said is past its maxMinutes ('pause' events) */
  overMax: new Map(),
  /** pause reason code → its label (config pauseReasons, from GET /v1/pause-reasons) */
  reasonLabels: new Map(),
  calls: new Map(),
  transfers: new Map(),
  ami: undefined,
  stats: undefined,
  statsAt: 0,
  records: [],
  tab: 'all',
  outboxTimer: undefined,
  refreshSoon: undefined,
  generation: 0
}

// ---- errors and notices -----------------------------------------------------

function showError (err) { showErrorBox(err, signOut) }

function clearError () { $('error').hidden = true; delete $('error').dataset.code }

const notice = noticeBox(4000)

// ---- sign in / out ------------------------------------------------------------

async function signIn (token) {
  const api = createApi(token)
  // Any supervisor-only read proves the role before the stream opens.
  const first = await api.get('/v1/apkt/records?limit=200')
  st.api = api
  st.generation++
  session.set(TOKEN_KEY, token)
  $('signin').hidden = true
  $('board').hidden = false
  $('signout').hidden = false
  $('stream').hidden = false
  $('ami').hidden = false
  seedTransfers(first.records)
  setOutbox(first, 'all')
  const generation = st.generation
  // The breaks' labels (best effort: without them the dashboard shows the codes).
  void api.get('/v1/pause-reasons').then(r => {
    if (generation !== st.generation) return
    st.reasonLabels = new Map(r.reasons.map(x => [x.code, x.label]))
    renderAgents()
  }, () => {})
  void seedLandings(generation)
  st.stream = openEventStream({
    url: '/v1/events',
    token,
    onEvent: (type, data) => { if (generation === st.generation) onEvent(type, data) },
    onStatus: (s) => {
      if (generation !== st.generation) return
      if (s.state === 'denied') { signOut(s.error ?? t('stream.denied')); return }
      st.streamState = { ...s, at: Date.now() }
      renderStream()
    }
  })
  scheduleOutboxPoll(generation)
  render()
}

function signOut (reason) {
  st.generation++
  st.stream?.stop()
  st.stream = undefined
  clearTimeout(st.outboxTimer)
  session.clear(TOKEN_KEY)
  st.api = undefined
  st.agents.clear(); st.overMax.clear(); st.calls.clear(); st.transfers.clear(); st.records = []; st.stats = undefined; st.ami = undefined
  $('board').hidden = true
  $('signout').hidden = true
  $('stream').hidden = true
  $('ami').hidden = true
  clearError()
  showSignIn(reason)
}

// ---- live events ------------------------------------------------------------------

function onEvent (type, data) {
  switch (type) {
    case 'snapshot':
      st.agents.clear()
      for (const a of data?.agents ?? []) if (a?.id !== undefined) st.agents.set(a.id, a)
      st.calls.clear()
      for (const c of data?.calls ?? []) putCall(c)
      if (data?.ami !== undefined) st.ami = data.ami
      if (isStats(data?.apkt)) setStats(data.apkt)
      refreshOutboxSoon()
      break
    case 'agent':
      // An agent removed at run time (admin API, CLI) comes as { id, removed: true }.
      if (data?.id !== undefined && data.removed === true) st.agents.delete(data.id)
      else if (data?.id !== undefined) st.agents.set(data.id, data)
      break
    case 'call':
      if (data?.callId !== undefined) {
        putCall(data)
        if (data.apkt !== undefined) refreshOutboxSoon()
      }
      break
    case 'ami':
      st.ami = data
      break
    case 'pause':
      // A break past its reason's maxMinutes: no agent change comes with it, so it is kept here.
      if (data?.overMax === true && typeof data.agentId === 'string') {
        st.overMax.set(data.agentId, data.since)
        notice(t('dash.overMaxNotice', { id: data.agentId, reason: data.reason ?? '' }))
      }
      break
    case 'apkt':
      if (isStats(data)) setStats(data)
      else if (isStats(data?.stats)) setStats(data.stats)
      refreshOutboxSoon()
      break
    default:
      return
  }
  render()
}

function putCall (c) {
  if (ACTIVE.has(c.state)) st.calls.set(c.callId, c)
  else st.calls.delete(c.callId)
  // A call connected to an agent means that agent is on it (the API's own rule),
  // even if the agent's change has not arrived (yet) on the stream.
  const a = c.agentId !== undefined ? st.agents.get(c.agentId) : undefined
  if (a !== undefined && ACTIVE.has(c.state) && c.state !== 'offered' && a.callId !== c.callId) {
    const { acwEndsAt, pausedReason, pauseReason, pausedSince, pauseOverMax, ...rest } = a
    st.agents.set(a.id, { ...rest, state: 'on_call', callId: c.callId, paused: false, loggedOut: false })
  }
  if (c.transfer !== undefined) {
    const prev = st.transfers.get(c.callId)
    st.transfers.set(c.callId, {
      callId: c.callId,
      agentId: c.agentId ?? prev?.agentId,
      callerIdNum: c.callerIdNum ?? prev?.callerIdNum,
      topic: c.topic ?? prev?.topic,
      target: c.transfer.target,
      status: c.transfer.status,
      message: c.transfer.message,
      at: c.transfer.at,
      landing: c.transfer.landing ?? prev?.landing
    })
  }
}

/** Transfers made before this page opened: their APKT records say so. */
function seedTransfers (records) {
  for (const r of records ?? []) {
    if (r.record?.permasalahan !== TRANSFER_CALL || st.transfers.has(r.callId)) continue
    st.transfers.set(r.callId, { callId: r.callId, agentId: r.agentId, topic: r.record.topic, target: 3, status: 'completed', at: r.createdAt })
  }
}

/**
 * Where today's transfers made before this page opened landed: their records do not
 * say, their calls do (one read each, one at a time; later changes come on the stream).
 */
async function seedLandings (generation) {
  for (const x of todaysTransfers()) {
    if (x.landing !== undefined || x.status !== 'completed') continue
    let call
    try { call = await st.api.get(`/v1/calls/${encodeURIComponent(x.callId)}`) } catch { continue }
    if (generation !== st.generation) return
    const now = st.transfers.get(x.callId)
    if (now !== undefined && now.landing === undefined && call?.transfer?.landing !== undefined) {
      st.transfers.set(x.callId, { ...now, callerIdNum: now.callerIdNum ?? call.callerIdNum, landing: call.transfer.landing })
      renderTransfers()
    }
  }
}

const isStats = (s) => s !== null && typeof s === 'object' && typeof s.pending === 'number' && typeof s.dead === 'number'

function setStats (s) { st.stats = s; st.statsAt = Date.now() }

// ---- the outbox -------------------------------------------------------------------

function setOutbox (res, tab) {
  if (tab !== st.tab) return
  st.records = res.records ?? []
  if (isStats(res.stats)) setStats(res.stats)
}

async function refreshOutbox () {
  if (st.api === undefined) return
  const tab = st.tab
  const q = tab === 'all' ? '?limit=50' : `?status=${tab}&limit=50`
  const res = await st.api.get(`/v1/apkt/records${q}`)
  setOutbox(res, tab)
  renderOutbox()
  renderKpis()
}

function refreshOutboxSoon () {
  clearTimeout(st.refreshSoon)
  st.refreshSoon = setTimeout(() => { refreshOutbox().catch(showError) }, 150)
}

// The dispatcher delivers in the background and the feed may not carry every
// delivery, so the outbox is also re-read every second or few.
function scheduleOutboxPoll (generation) {
  st.outboxTimer = setTimeout(async () => {
    if (generation !== st.generation) return
    try { await refreshOutbox() } catch (err) { showError(err) }
    if (generation === st.generation) scheduleOutboxPoll(generation)
  }, (st.stats?.pending ?? 0) > 0 ? OUTBOX_POLL_MS.pending : OUTBOX_POLL_MS.idle)
}

async function retry (id, button) {
  button.disabled = true
  try {
    await st.api.post(`/v1/apkt/records/${encodeURIComponent(id)}/retry`, {})
    notice(t('outbox.retried', { id: id.slice(0, 8) }))
    await refreshOutbox()
  } catch (err) {
    button.disabled = false
    showError(err)
  }
}

// ---- rendering ----------------------------------------------------------------------

function render () {
  renderStream()
  renderAmi()
  renderAgents()
  renderCalls()
  renderTransfers()
  renderOutbox()
  renderKpis()
}

function renderStream () {
  const el = $('stream')
  const s = st.streamState
  el.dataset.state = s.state
  let text = t('stream.connecting')
  if (s.state === 'live') text = t('stream.live')
  if (s.state === 'retrying') text = t('stream.retry', { s: Math.max(0, Math.ceil(((s.at ?? Date.now()) + (s.inMs ?? 0) - Date.now()) / 1000)) })
  $('stream-text').textContent = text
  el.title = s.error ?? ''
}

function renderAmi () {
  const a = st.ami
  const state = a?.state ?? 'unknown'
  const el = $('ami')
  el.dataset.state = state
  $('ami-text').textContent = t(`ami.${state}`) === `ami.${state}` ? `AMI ${state}` : t(`ami.${state}`)
  el.title = [a?.since !== undefined ? t('ami.since', { time: `${timeOf(a.since)} ${t('time.zone')}` }) : '', a?.lastError ?? ''].filter(Boolean).join(' · ')
}

const topicText = (topic) => topic === undefined ? '—' : t(`topic.${topic}`)

/** Paused past the reason's maxMinutes: the view says so, or the feed said so for this very pause. */
function overMax (a) {
  if (a.state !== 'paused') return false
  return a.pauseOverMax === true || (a.pausedSince !== undefined && st.overMax.get(a.id) === a.pausedSince)
}

/** A pause reason as supervisors read it: its label with the code, the code alone when it has no label (ACW's, a pause made at the phone). */
function reasonText (code) {
  if (code === undefined || code === '') return '—'
  const label = st.reasonLabels.get(code)
  return label === undefined || label === code ? code : `${label} (${code})`
}

/** The agent's break: its reason, how long so far (running), flagged past its limit. */
function pauseBlock (a) {
  if (a.state !== 'paused') return null
  const reason = a.pauseReason ?? a.pausedReason
  const over = overMax(a)
  return h('div', { class: 'agent-pause', dataset: { overMax: over ? 'true' : 'false' }, title: over ? t('dash.overMaxTitle', { reason: reason ?? '' }) : undefined },
    h('span', { class: 'pause-reason' }, t('dash.pause', { reason: reasonText(reason) })),
    over ? h('span', { class: 'pill over-max-badge' }, t('dash.overMax')) : null,
    a.pausedSince !== undefined
      ? h('span', { class: 'pause-timer mono', title: t('dash.pauseFor'), dataset: { since: a.pausedSince } }, duration(Date.now() - Date.parse(a.pausedSince)))
      : null)
}

/** What the agent asked for during the call or ACW, applied when ACW ends. */
function nextLine (a) {
  if (a.next === undefined) return null
  const text = a.next.logout === true ? t('dash.next.logout') : t('dash.next.pause', { reason: a.next.reason ?? '' })
  return h('p', { class: 'agent-next small', dataset: { next: a.next.logout === true ? 'logout' : 'pause' } }, text)
}

function agentCard (a) {
  const call = a.callId !== undefined ? st.calls.get(a.callId) : undefined
  const acw = a.state === 'acw' && a.acwEndsAt !== undefined
  const over = overMax(a)
  return h('article', { class: over ? 'agent over-max' : 'agent', dataset: { agent: a.id, state: a.state } },
    h('div', { class: 'agent-head' },
      h('span', { class: 'agent-id' }, t('agent.title', { id: a.id })),
      h('span', { class: 'state-badge', dataset: { state: a.state } }, t(`state.${a.state}`))),
    a.interface !== undefined ? h('div', { class: 'agent-phone muted small mono' }, t('dash.phone', { iface: a.interface })) : null,
    pauseBlock(a),
    nextLine(a),
    acw
      ? h('div', { class: 'agent-acw' },
        h('span', { class: 'muted small' }, t('acw.remaining')),
        h('span', { class: 'acw-countdown small-countdown', dataset: { until: a.acwEndsAt } }, duration(secondsUntil(a.acwEndsAt) * 1000)))
      : null,
    call !== undefined
      ? h('dl', { class: 'agent-call' },
        h('div', {}, h('dt', {}, t('call.caller')), h('dd', { class: 'mono' }, call.callerIdNum ?? '—')),
        h('div', {}, h('dt', {}, t('col.topic')), h('dd', {}, topicText(call.topic))),
        h('div', {}, h('dt', {}, t('call.duration')), h('dd', { class: 'mono', dataset: { since: call.connectedAt ?? call.offeredAt } }, duration(Date.now() - Date.parse(call.connectedAt ?? call.offeredAt)))))
      : a.state === 'paused' ? null : h('p', { class: 'muted small agent-idle' }, a.state === 'acw' ? t('acw.note') : t('dash.idle')))
}

/** A logged-out agent: a name tag only, in its own group below the working floor. */
function loggedOutTag (a) {
  return h('span', { class: 'agent-out', dataset: { agent: a.id, state: a.state }, title: a.interface ?? '' },
    t('agent.title', { id: a.id }))
}

function renderAgents () {
  const all = [...st.agents.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }))
  const out = all.filter(a => a.loggedOut === true)
  const working = all.filter(a => a.loggedOut !== true)
  $('agents').replaceChildren(...working.map(agentCard))
  $('agents-empty').hidden = all.length > 0
  $('agents-out').replaceChildren(...out.map(loggedOutTag))
  $('agents-out-count').textContent = String(out.length)
  $('agents-out-group').hidden = out.length === 0
}

function renderCalls () {
  const calls = [...st.calls.values()].sort((a, b) => Date.parse(a.offeredAt) - Date.parse(b.offeredAt))
  $('calls').replaceChildren(...calls.map(c => h('tr', { dataset: { callId: c.callId, state: c.state } },
    h('td', { class: 'mono' }, timeOf(c.connectedAt ?? c.offeredAt)),
    h('td', { class: 'mono' }, c.callerIdNum ?? '—'),
    h('td', {}, c.agentId ?? '—'),
    h('td', {}, h('span', { class: 'pill', dataset: { state: c.state } }, t(`callstate.${c.state}`))),
    h('td', {}, topicText(c.topic)),
    h('td', { class: 'mono', dataset: { since: c.connectedAt ?? c.offeredAt } }, duration(Date.now() - Date.parse(c.connectedAt ?? c.offeredAt))))))
  $('calls-empty').hidden = calls.length > 0
  $('calls-table').hidden = calls.length === 0
  $('calls-count').textContent = String(calls.length)
}

function todaysTransfers () {
  const today = jakartaDay()
  return [...st.transfers.values()].filter(x => jakartaDay(x.at) === today).sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
}

/** Where the customer landed at ICONNET: a badge, its wait and cause on hover. */
function landingBadge (landing) {
  if (landing === undefined) return '—'
  let label = t(`landing.${landing.status}`)
  if (landing.status === 'failed' && landing.cause !== undefined) {
    const key = `landing.cause.${landing.cause}`
    const cause = t(key)
    label += ` · ${cause === key ? landing.cause : cause}` // a DialStatus without a translation shows as Asterisk says it
  }
  const title = landing.status === 'waiting' ? t('landing.since', { time: timeOf(landing.at) }) : t('landing.waited', { s: landing.waitSeconds })
  return h('span', { class: 'pill landing', title, dataset: { landing: landing.status } }, label)
}

function renderTransfers () {
  const list = todaysTransfers()
  $('kpi-transfers').textContent = String(list.filter(x => x.status === 'completed').length)
  $('transfers').replaceChildren(...list.map(x => h('tr', { dataset: { callId: x.callId, status: x.status } },
    h('td', { class: 'mono' }, timeOf(x.at)),
    h('td', { class: 'mono' }, x.callerIdNum ?? '—'),
    h('td', {}, x.agentId ?? '—'),
    h('td', {}, topicText(x.topic)),
    h('td', {}, `${x.target} · CC ICONNET`),
    h('td', { title: x.message ?? '' }, h('span', { class: 'pill', dataset: { result: x.status } }, t(`transfer.result.${x.status}`))),
    h('td', {}, landingBadge(x.landing)))))
  $('transfers-empty').hidden = list.length > 0
  $('transfers-table').hidden = list.length === 0
  $('transfers-count').textContent = String(list.length)
}

function renderOutbox () {
  for (const b of document.querySelectorAll('#outbox-tabs .tab')) {
    const on = b.dataset.status === st.tab
    b.classList.toggle('selected', on)
    b.setAttribute('aria-selected', String(on))
  }
  const s = st.stats
  for (const c of document.querySelectorAll('#outbox-tabs .count')) {
    const k = c.dataset.count
    c.textContent = s === undefined ? '' : String(k === 'all' ? s.pending + s.dead + s.delivered : s[k])
  }
  $('outbox').replaceChildren(...st.records.map(r => h('tr', { dataset: { recordId: r.id, callId: r.callId, status: r.status } },
    h('td', { class: 'mono' }, timeOf(r.createdAt)),
    h('td', { class: 'mono small', title: r.callId }, r.callId),
    h('td', {}, r.agentId),
    h('td', { class: 'permasalahan' }, r.record?.permasalahan ?? ''),
    h('td', {}, h('span', { class: 'pill', dataset: { status: r.status } }, t(`apkt.status.${r.status}`))),
    h('td', { class: 'num' }, String(r.attempts)),
    h('td', { class: 'small error-text', title: r.lastError ?? '' }, r.lastError ?? ''),
    h('td', {}, r.status === 'dead'
      ? h('button', { type: 'button', class: 'btn btn-small btn-primary retry', onclick: (ev) => { void retry(r.id, ev.currentTarget) } }, t('outbox.retry'))
      : ''))))
  $('outbox-empty').hidden = st.records.length > 0
  $('outbox-table').hidden = st.records.length === 0
  renderOldest()
}

function oldestAgeMs () {
  const s = st.stats
  if (s === undefined || s.oldestPendingAgeMs === null || s.oldestPendingAgeMs === undefined) return undefined
  return s.oldestPendingAgeMs + (Date.now() - st.statsAt)
}

function renderOldest () {
  const age = oldestAgeMs()
  const text = age === undefined ? t('outbox.none') : t('outbox.oldest', { age: duration(age) })
  $('outbox-oldest').textContent = text
  $('kpi-oldest').textContent = age === undefined ? '' : duration(age)
}

function renderKpis () {
  const count = (state) => [...st.agents.values()].filter(a => a.state === state).length
  $('kpi-ready').textContent = String(count('ready'))
  $('kpi-oncall').textContent = String(count('on_call'))
  $('kpi-acw').textContent = String(count('acw'))
  $('kpi-paused').textContent = String(count('paused'))
  document.querySelector('.kpi[data-kind="paused"]').classList.toggle('alert', [...st.agents.values()].some(overMax))
  $('kpi-live').textContent = String(st.calls.size)
  $('kpi-pending').textContent = String(st.stats?.pending ?? 0)
  $('kpi-dead').textContent = String(st.stats?.dead ?? 0)
  document.querySelector('.kpi[data-kind="dead"]').classList.toggle('alert', (st.stats?.dead ?? 0) > 0)
}

/** The parts that move by themselves: countdowns, durations, reconnect timer. */
function tick () {
  if (st.api === undefined) return
  for (const el of document.querySelectorAll('[data-until]')) el.textContent = duration(secondsUntil(el.dataset.until) * 1000)
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = duration(Date.now() - Date.parse(el.dataset.since))
  if (st.streamState.state === 'retrying') renderStream()
  renderOldest()
}

// ---- wiring ----------------------------------------------------------------------------

function wire () {
  langToggle($('lang'))
  onLangChange(() => { if (st.api !== undefined) render() })
  $('error-close').addEventListener('click', clearError)
  $('signout').addEventListener('click', () => signOut())
  wireSignInForm(signIn, () => t('signin.checking'))
  for (const b of document.querySelectorAll('#outbox-tabs .tab')) {
    b.addEventListener('click', () => {
      st.tab = b.dataset.status
      st.records = []
      renderOutbox()
      refreshOutbox().catch(showError)
    })
  }
  // A laptop that slept has a dead socket that may look open: start afresh.
  let hiddenAt = 0
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') hiddenAt = Date.now()
    else if (Date.now() - hiddenAt > 60_000) st.stream?.reconnect()
  })
  setInterval(tick, 250)
}

wire()
resumeSession(TOKEN_KEY, signIn, signOut)
