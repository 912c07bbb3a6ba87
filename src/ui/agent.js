// The agent panel: the SOP's flow (classify, read the script, get consent, Direct
// Transfer 3, ACW, APKT) one click each, through the public API only; and the shift
// around it: login at the phone of today, pauses for a configured reason (asked during
// a call or ACW, they start when ACW ends), logout, and the call's wrap-up code.
// Agents cannot use /v1/events (supervisor-only), so the panel polls its own state
// once a second.
import { ApiError, createApi, duration, h, resumeSession, secondsUntil, session, showErrorBox, showSignIn, timeOf, wireSignInForm } from './api.js'
import { langToggle, onLangChange, t } from './i18n.js'

const TOKEN_KEY = 'pln123.agent.token'
const DECISION_KEY = 'pln123.agent.decision'
// The last call, so a reload during ACW keeps its wrap-up picker (the agent view names only a live call).
const LAST_CALL_KEY = 'pln123.agent.lastCall'
const POLL_MS = 1000
const TRANSFER_TOPICS = new Set(['activation', 'disruption'])
const ACTIVE = new Set(['offered', 'connected', 'transferring'])
// A finished call is re-read until its APKT record settles, but not forever.
const FOLLOW_ENDED_MS = 5 * 60_000

const $ = (id) => document.getElementById(id)

const ui = {
  api: undefined,
  agentId: undefined,
  agent: undefined,
  call: undefined,
  decision: undefined,
  topic: undefined,
  acwTotal: new Map(),
  busy: new Set(),
  pollTimer: undefined,
  pollError: false,
  generation: 0,
  /** config pauseReasons and the wrap-up codes, read once per sign-in */
  reasons: undefined,
  codes: undefined,
  /** the agent typed another phone: polls stop filling in the view's */
  ifaceDirty: false,
  /** { callId, message } of a WRAPUP_CLOSED answer, shown on that call's wrap-up card */
  wrapupClosed: undefined,
  /** the call and wrap-up the picker was last filled from */
  wrapupSynced: undefined,
  /** after a sign-in: bring back this tab's last call once */
  restore: false
}

// ---- errors ---------------------------------------------------------------

function showError (err, fromPoll = false) {
  if (showErrorBox(err, signOut)) ui.pollError = fromPoll
}

function clearError () { $('error').hidden = true; delete $('error').dataset.code; ui.pollError = false }

// ---- sign in / out ---------------------------------------------------------

async function signIn (token) {
  const api = createApi(token)
  const agents = await api.get('/v1/agents')
  if (!Array.isArray(agents) || agents.length !== 1 || typeof agents[0]?.id !== 'string') throw new ApiError(403, 'NOT_AN_AGENT_TOKEN', t('signin.notAgent'))
  ui.api = api
  ui.agentId = agents[0].id
  ui.agent = agents[0]
  Object.assign(ui, { reasons: undefined, codes: undefined, ifaceDirty: false, wrapupClosed: undefined, wrapupSynced: undefined, restore: true })
  $('login-interface').value = ''
  ui.generation++
  session.set(TOKEN_KEY, token)
  $('signin').hidden = true
  $('panel').hidden = false
  $('signout').hidden = false
  $('who').hidden = false
  render()
  void poll(ui.generation)
}

function signOut (reason) {
  ui.generation++
  clearTimeout(ui.pollTimer)
  session.clear(TOKEN_KEY)
  session.clear(DECISION_KEY)
  session.clear(LAST_CALL_KEY)
  Object.assign(ui, { api: undefined, agentId: undefined, agent: undefined, call: undefined, decision: undefined, topic: undefined, reasons: undefined, codes: undefined, ifaceDirty: false, wrapupClosed: undefined, wrapupSynced: undefined })
  $('login-interface').value = ''
  $('panel').hidden = true
  $('signout').hidden = true
  $('who').hidden = true
  clearError()
  showSignIn(reason)
}

// ---- polling ---------------------------------------------------------------

async function poll (generation) {
  if (generation !== ui.generation) return
  try {
    if (ui.reasons === undefined || ui.codes === undefined) await loadChoices(generation)
    const agent = await ui.api.get(`/v1/agents/${encodeURIComponent(ui.agentId)}`)
    if (generation !== ui.generation) return
    ui.agent = agent
    let current
    if (agent.callId !== undefined || agent.state === 'on_call') {
      try {
        current = await ui.api.get(`/v1/agents/${encodeURIComponent(ui.agentId)}/call`)
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err
      }
    }
    if (current === undefined && ui.call === undefined && ui.restore) current = await lastCall()
    if (generation !== ui.generation) return
    if (current !== undefined) {
      if (ui.call?.callId !== current.callId) startCall(current)
      else ui.call = current
    } else if (ui.call !== undefined && stillFollowing(ui.call)) {
      const latest = await ui.api.get(`/v1/calls/${encodeURIComponent(ui.call.callId)}`)
      if (generation !== ui.generation) return
      if (latest.callId === ui.call?.callId) ui.call = latest
    }
    if (ui.pollError) clearError()
    render()
  } catch (err) {
    if (generation !== ui.generation) return
    showError(err, true)
  }
  if (generation === ui.generation) ui.pollTimer = setTimeout(() => { void poll(generation) }, POLL_MS)
}

function stillFollowing (call) {
  if (ACTIVE.has(call.state)) return true
  // The wrap-up stays open through ACW, however long it was extended: its final code is shown.
  if (ui.agent?.state === 'acw') return true
  const st = call.apkt?.status
  const apktOpen = st !== 'delivered' && st !== 'dead'
  const wrapupOpen = call.connectedAt !== undefined && call.wrapup?.final !== true
  if (!apktOpen && !wrapupOpen) return false
  const end = Date.parse(call.endedAt ?? call.transfer?.at ?? '')
  return Number.isNaN(end) || Date.now() - end < FOLLOW_ENDED_MS
}

/** This tab's last call of this agent, after a reload; undefined when gone. */
async function lastCall () {
  const id = session.get(LAST_CALL_KEY)
  let call
  if (id !== undefined) {
    try {
      call = await ui.api.get(`/v1/calls/${encodeURIComponent(id)}`)
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err
      session.clear(LAST_CALL_KEY)
    }
  }
  ui.restore = false
  return call?.agentId === ui.agentId ? call : undefined
}

/** The pause menu's reasons and the wrap-up picker's codes (the config's, same for every call). */
async function loadChoices (generation) {
  const [reasons, codes] = await Promise.all([ui.api.get('/v1/pause-reasons'), ui.api.get('/v1/wrapup-codes')])
  if (generation !== ui.generation) return
  ui.reasons = reasons.reasons
  ui.codes = codes
  buildPauseMenu()
  buildWrapupOptions()
}

function startCall (call) {
  ui.call = call
  session.set(LAST_CALL_KEY, call.callId)
  ui.decision = undefined
  ui.wrapupClosed = undefined
  ui.wrapupSynced = undefined
  $('inquiry-form').reset()
  $('wrapup-form').reset()
  // After a reload mid-call: what the API remembers, plus this tab's last decision.
  const saved = readSavedDecision()
  if (saved?.callId === call.callId) ui.decision = saved.decision
  else if (call.topic !== undefined && call.script !== undefined) {
    ui.decision = { topic: call.topic, script: call.script, action: TRANSFER_TOPICS.has(call.topic) ? 'transfer' : 'educate', guidance: [] }
  }
  ui.topic = ui.decision?.topic
}

function readSavedDecision () {
  try { return JSON.parse(session.get(DECISION_KEY) ?? 'null') ?? undefined } catch { return undefined }
}

// ---- actions ---------------------------------------------------------------

async function act (name, fn) {
  if (ui.busy.has(name)) return
  ui.busy.add(name)
  render()
  try {
    clearError()
    await fn()
  } catch (err) {
    showError(err)
  } finally {
    ui.busy.delete(name)
    render()
  }
}

function pickTopic (topic) {
  if (!callConnected()) return
  ui.topic = topic
  render()
  const first = $('f-name')
  if (first.value === '') first.focus()
}

function inquiryBody () {
  const form = $('inquiry-form')
  const data = new FormData(form)
  const customer = { name: String(data.get('name') ?? '').trim(), salutation: String(data.get('salutation') ?? 'Bapak') }
  const customerId = String(data.get('customerId') ?? '').trim()
  if (customerId !== '') customer.customerId = customerId
  const body = { topic: ui.topic, customer }
  if (ui.topic === 'coverage') body.area = String(data.get('area') ?? '').trim()
  if (ui.topic === 'billing') {
    const v = data.get('plnMobile')
    if (v === 'yes') body.subscribedViaPlnMobile = true
    if (v === 'no') body.subscribedViaPlnMobile = false
  }
  return body
}

async function submitInquiry (call, body) {
  const decision = await ui.api.post(`/v1/calls/${encodeURIComponent(call.callId)}/inquiry`, body)
  if (ui.call?.callId !== call.callId) return
  ui.decision = decision
  // A new inquiry needs its own consent (the API drops the old one too).
  delete ui.call.consent
  session.set(DECISION_KEY, JSON.stringify({ callId: call.callId, decision }))
}

async function recordConsent (accepted) {
  const call = ui.call
  const res = await ui.api.post(`/v1/calls/${encodeURIComponent(call.callId)}/consent`, { accepted })
  if (ui.call?.callId === call.callId) ui.call.consent = res.consent
}

async function directTransfer () {
  const call = ui.call
  const target = ui.decision?.transferTarget ?? 3
  try {
    const res = await ui.api.post(`/v1/calls/${encodeURIComponent(call.callId)}/direct-transfer`, { target })
    if (ui.call?.callId === call.callId) ui.call.transfer = res.transfer
  } catch (err) {
    // A second press (or a press from another tab) answers with the first result; an
    // outcome Asterisk has not told yet is shown as such, not as an error to retry.
    if (err instanceof ApiError && (err.code === 'ALREADY_TRANSFERRED' || err.code === 'TRANSFER_OUTCOME_UNKNOWN') && err.body?.transfer !== undefined) {
      if (ui.call?.callId === call.callId) ui.call.transfer = err.body.transfer
      return
    }
    throw err
  }
}

const agentPath = (step) => `/v1/agents/${encodeURIComponent(ui.agentId)}/${step}`

/** A 202 answers { pending | next, agent }, a 200 the agent view itself. */
const viewOf = (res) => res?.agent ?? res

async function shiftLogin (iface) {
  ui.agent = viewOf(await ui.api.post(agentPath('login'), iface === '' ? {} : { interface: iface }))
  ui.ifaceDirty = false
}

async function shiftLogout () { ui.agent = viewOf(await ui.api.post(agentPath('logout'))) }

async function pauseFor (reason) { ui.agent = viewOf(await ui.api.post(agentPath('pause'), { reason })) }

async function shiftReady () { ui.agent = viewOf(await ui.api.post(agentPath('ready'))) }

async function chooseWrapup (call, body) {
  try {
    const res = await ui.api.post(`/v1/calls/${encodeURIComponent(call.callId)}/wrapup`, body)
    if (ui.call?.callId === call.callId) ui.call.wrapup = res.wrapup
    ui.wrapupClosed = undefined
  } catch (err) {
    // Too late (ACW ended meanwhile): not an error to retry; the final code is shown instead.
    if (err instanceof ApiError && err.code === 'WRAPUP_CLOSED') {
      if (ui.call?.callId === call.callId && err.body?.wrapup !== undefined) ui.call.wrapup = err.body.wrapup
      ui.wrapupClosed = { callId: call.callId, message: err.message }
      return
    }
    throw err
  }
}

// ---- rendering -------------------------------------------------------------

function callConnected () { return ui.call?.state === 'connected' }

function render () {
  if (ui.agentId === undefined) return
  renderState()
  renderShift()
  renderCall()
  renderWrapup()
  renderInquiry()
  renderScript()
  renderConsent()
  renderTransfer()
  renderApkt()
}

function renderState () {
  const a = ui.agent
  const state = a?.state ?? 'offline'
  const badge = $('agent-state')
  badge.dataset.state = state
  badge.textContent = t(`state.${state}`)
  $('who').textContent = t('agent.title', { id: ui.agentId })
  const acw = state === 'acw' && a?.acwEndsAt !== undefined
  $('acw').hidden = !acw
  $('status-card').dataset.state = state
  const note = $('state-note')
  // A pause is shown with its reason and timer in the shift part.
  note.textContent = state === 'ready' ? t('acw.ready') : ''
  note.hidden = note.textContent === ''
  if (acw && !ui.acwTotal.has(a.acwEndsAt)) {
    const start = Date.parse(ui.call?.endedAt ?? ui.call?.transfer?.at ?? '')
    const total = Date.parse(a.acwEndsAt) - (Number.isNaN(start) ? Date.now() : start)
    ui.acwTotal.set(a.acwEndsAt, Math.max(total, 1000))
  }
  tick()
}

/** The parts that move by themselves: ACW countdown and call duration. */
function tick () {
  const a = ui.agent
  if (a?.state === 'acw' && a.acwEndsAt !== undefined) {
    const left = secondsUntil(a.acwEndsAt)
    const el = $('acw-countdown')
    el.textContent = duration(left * 1000)
    el.dataset.seconds = String(left)
    const total = ui.acwTotal.get(a.acwEndsAt) ?? 1
    const pct = Math.max(0, Math.min(100, ((Date.parse(a.acwEndsAt) - Date.now()) / total) * 100))
    $('acw-bar').style.width = `${pct.toFixed(1)}%`
  }
  const timer = $('pause-timer')
  if (a?.state === 'paused' && a.pausedSince !== undefined) {
    const ms = Math.max(0, Date.now() - Date.parse(a.pausedSince))
    timer.textContent = duration(ms)
    timer.dataset.seconds = String(Math.floor(ms / 1000))
    timer.hidden = false
  } else {
    timer.hidden = true
    delete timer.dataset.seconds
  }
  const c = ui.call
  if (c !== undefined) {
    const from = Date.parse(c.connectedAt ?? c.offeredAt)
    const to = c.endedAt !== undefined ? Date.parse(c.endedAt) : Date.now()
    $('call-duration').textContent = duration(to - from)
  }
}

function renderCall () {
  const c = ui.call
  $('call-none').hidden = c !== undefined
  $('call-details').hidden = c === undefined
  const pill = $('call-state')
  pill.hidden = c === undefined
  if (c === undefined) { $('call-title').textContent = t('call.title'); return }
  $('call-title').textContent = ACTIVE.has(c.state) ? t('call.title') : t('call.last')
  pill.dataset.state = c.state
  pill.textContent = t(`callstate.${c.state}`)
  $('call-caller').textContent = c.callerIdNum ?? '—'
  $('call-since').textContent = `${timeOf(c.connectedAt ?? c.offeredAt)} ${t('time.zone')}`
  $('call-id').textContent = c.callId
  $('call-card').dataset.callId = c.callId
}

const reasonOf = (code) => ui.reasons?.find(r => r.code === code)
const reasonLabel = (code) => reasonOf(code)?.label ?? code

function buildPauseMenu () {
  $('pause-menu').replaceChildren(...(ui.reasons ?? []).map(r => h('button', {
    type: 'button',
    class: 'pause-reason',
    dataset: { reason: r.code },
    'aria-pressed': 'false',
    onclick: () => { void act('shift', () => pauseFor(r.code)) }
  }, r.label, h('span', { class: 'max' }, t('pause.max', { n: r.maxMinutes })))))
}

function buildWrapupOptions () {
  const sel = $('wrapup-code')
  const keep = sel.value
  sel.replaceChildren(h('option', { value: '', 'data-i18n': 'wrapup.pick' }, t('wrapup.pick')), ...(ui.codes?.codes ?? []).map(c => h('option', { value: c.code }, `${c.label} (${c.code})`)))
  sel.value = keep
}

/** Login at the phone of today, logout, the pause running with its timer, and what comes after ACW. */
function renderShift () {
  const a = ui.agent
  const known = a !== undefined
  const loggedOut = a?.loggedOut === true
  const busy = ui.busy.has('shift')
  $('login-form').hidden = !known || !loggedOut
  $('shift-in').hidden = !known || loggedOut
  const input = $('login-interface')
  if (!ui.ifaceDirty && document.activeElement !== input) input.value = a?.interface ?? ''
  input.disabled = busy
  $('login').disabled = busy
  $('shift-phone').textContent = a?.interface ?? '—'
  const next = a?.next
  const logoutNext = next?.logout === true
  $('logout').disabled = busy || logoutNext
  const pending = $('shift-pending')
  pending.hidden = !logoutNext
  pending.textContent = logoutNext ? t('shift.logoutPending') : ''

  $('pause').hidden = !known || loggedOut
  const state = a?.state
  const pausedNow = state === 'paused'
  const code = pausedNow ? (a.pauseReason ?? a.pausedReason) : undefined
  const status = $('pause-status')
  status.hidden = !pausedNow
  status.dataset.reason = code ?? ''
  status.dataset.overMax = String(pausedNow && a.pauseOverMax === true)
  $('pause-label').textContent = pausedNow ? t('pause.running', { reason: reasonLabel(code ?? '—') }) : ''
  const over = $('pause-over')
  over.hidden = !(pausedNow && a.pauseOverMax === true)
  const max = reasonOf(code)?.maxMinutes
  over.textContent = max !== undefined ? t('pause.over', { max }) : t('pause.overLimit')

  const nextPause = next?.paused === true ? next.reason : undefined
  const nextEl = $('next-status')
  nextEl.hidden = nextPause === undefined
  nextEl.textContent = nextPause !== undefined ? t('next.paused', { reason: reasonLabel(nextPause) }) : ''
  nextEl.dataset.next = nextPause ?? ''
  $('pause-hint').hidden = !((state === 'on_call' || state === 'acw') && next === undefined)
  for (const b of document.querySelectorAll('#pause-menu .pause-reason')) {
    b.disabled = busy || logoutNext
    b.setAttribute('aria-pressed', String(b.dataset.reason === code || b.dataset.reason === nextPause))
  }
  // Ready ends a break, or drops the break asked for during a call (fixed ACW cannot be cut short).
  const ready = $('ready')
  ready.disabled = busy || !(pausedNow || (state === 'on_call' && nextPause !== undefined))
}

/** The wrap-up picker: open from the answer until the window closes, then the final code. */
function renderWrapup () {
  const c = ui.call
  const w = c?.wrapup
  const answered = c?.connectedAt !== undefined
  const final = w?.final === true
  const open = answered && !final
  const card = $('wrapup-card')
  card.dataset.final = String(final)
  card.dataset.callId = c?.callId ?? ''
  $('wrapup-empty').hidden = answered
  $('wrapup-form').hidden = !open
  const badge = $('wrapup-badge')
  badge.hidden = !answered
  badge.dataset.wrapup = final ? 'final' : 'open'
  badge.textContent = t(final ? 'wrapup.badge.final' : 'wrapup.badge.open')
  // Filled from the call when it (or its wrap-up) changes, never over what the agent is picking.
  const synced = `${c?.callId}|${w?.code ?? ''}|${w?.note ?? ''}`
  if (answered && ui.wrapupSynced !== synced && ui.codes !== undefined) {
    ui.wrapupSynced = synced
    $('wrapup-code').value = w?.code ?? ''
    $('wrapup-note').value = w?.note ?? ''
  }
  const busy = ui.busy.has('wrapup')
  for (const el of $('wrapup-form').elements) el.disabled = busy || ui.codes === undefined
  $('wrapup-submit').textContent = t(busy ? 'wrapup.saving' : 'wrapup.submit')
  const st = $('wrapup-state')
  let text = ''
  if (w !== undefined) {
    text = final ? t(`wrapup.final.${w.source}`, { label: w.label, code: w.code }) : t('wrapup.chosen', { label: w.label, code: w.code, time: timeOf(w.at) })
    if (w.note !== undefined) text += ` · “${w.note}”`
  } else if (open && ui.codes?.default !== undefined) {
    text = t('wrapup.default', { label: ui.codes.default.label, code: ui.codes.default.code })
  }
  st.textContent = text
  st.hidden = text === ''
  st.dataset.final = String(final)
  st.dataset.code = w?.code ?? ''
  const closed = $('wrapup-closed')
  const shut = c !== undefined && ui.wrapupClosed?.callId === c.callId
  closed.hidden = !shut
  closed.textContent = shut ? t('wrapup.closed') : ''
  closed.title = shut ? ui.wrapupClosed.message : ''
  closed.dataset.code = shut ? 'WRAPUP_CLOSED' : ''
}

function renderInquiry () {
  const live = callConnected() && ui.call?.transfer === undefined
  for (const b of document.querySelectorAll('#topics .topic')) {
    const on = b.dataset.topic === ui.topic
    b.setAttribute('aria-checked', String(on))
    b.classList.toggle('selected', on)
    b.disabled = !live
  }
  const form = $('inquiry-form')
  form.hidden = ui.topic === undefined
  for (const el of form.elements) el.disabled = !live || ui.busy.has('inquiry')
  $('f-area-wrap').hidden = ui.topic !== 'coverage'
  $('f-area').required = ui.topic === 'coverage'
  $('f-plnmobile').hidden = ui.topic !== 'billing'
  $('inquiry-submit').textContent = t('inquiry.submit')
}

function renderScript () {
  const d = ui.decision
  $('script-empty').hidden = d !== undefined
  $('script').hidden = d === undefined
  $('script').textContent = d?.script ?? ''
  const badge = $('action-badge')
  badge.hidden = d === undefined
  if (d !== undefined) {
    badge.dataset.action = d.action
    badge.textContent = t(`action.${d.action}`)
  }
  const list = $('guidance')
  list.replaceChildren(...(d?.guidance ?? []).map(g => h('li', {}, g)))
  $('guidance-wrap').hidden = (d?.guidance ?? []).length === 0
}

function renderConsent () {
  const d = ui.decision
  const c = ui.call
  const needed = d?.action === 'transfer'
  const open = needed && callConnected() && c?.transfer === undefined && !ui.busy.has('consent')
  const yes = $('consent-yes')
  const no = $('consent-no')
  yes.disabled = !open
  no.disabled = !open
  yes.setAttribute('aria-pressed', String(c?.consent?.accepted === true))
  no.setAttribute('aria-pressed', String(c?.consent?.accepted === false))
  const st = $('consent-state')
  if (d !== undefined && !needed) st.textContent = t('consent.notNeeded')
  else if (c?.consent !== undefined) st.textContent = t(c.consent.accepted ? 'consent.accepted' : 'consent.declined', { time: timeOf(c.consent.at) })
  else st.textContent = d === undefined ? '' : t('consent.waiting')
  st.dataset.consent = c?.consent === undefined ? 'none' : c.consent.accepted ? 'accepted' : 'declined'
  $('consent-card').classList.toggle('dim', !needed)
}

function renderTransfer () {
  const d = ui.decision
  const c = ui.call
  const target = d?.transferTarget ?? 3
  $('transfer-num').textContent = String(target)
  const busy = ui.busy.has('transfer')
  $('transfer-label').textContent = busy ? t('transfer.working') : t('transfer.button', { n: target })
  let hint
  let ready = false
  if (c?.transfer !== undefined) {
    hint = c.transfer.status === 'failed'
      ? t('transfer.failed', { message: c.transfer.message ?? '' })
      : c.transfer.status === 'pending'
        ? t('transfer.pending', { time: timeOf(c.transfer.at) })
        : t('transfer.done', { n: c.transfer.target, time: timeOf(c.transfer.at) })
  } else if (c === undefined || !callConnected()) hint = c === undefined ? '' : t('transfer.hint.notConnected')
  else if (d === undefined) hint = t('transfer.hint.inquiry')
  else if (d.action !== 'transfer') hint = t('transfer.hint.educate')
  else if (c.consent === undefined) hint = t('transfer.hint.consent')
  else if (!c.consent.accepted) hint = t('transfer.hint.declined')
  else { hint = t('transfer.hint.ready'); ready = true }
  const btn = $('transfer')
  btn.disabled = !ready || busy
  btn.classList.toggle('busy', busy)
  const el = $('transfer-hint')
  el.textContent = hint
  el.dataset.transfer = c?.transfer?.status ?? (ready ? 'ready' : 'blocked')
  $('transfer-card').classList.toggle('done', c?.transfer?.status === 'completed')
}

function renderApkt () {
  const d = ui.decision
  const rec = ui.call?.apkt
  const has = d !== undefined || rec !== undefined
  $('apkt-empty').hidden = has
  $('apkt-details').hidden = !has
  const pill = $('apkt-status')
  pill.hidden = !has
  if (!has) return
  $('apkt-jenis').textContent = d?.apkt?.jenis ?? 'KELUHAN'
  $('apkt-tipe').textContent = d?.apkt?.tipeKeluhan ?? 'INFORMASI'
  $('apkt-subtipe').textContent = d?.apkt?.subTipeKeluhan ?? 'UMUM'
  $('apkt-permasalahan').textContent = rec?.permasalahan ?? d?.apkt?.permasalahan ?? '—'
  $('apkt-record').textContent = rec?.recordId ?? '—'
  const status = rec === undefined ? 'planned' : (rec.status ?? 'pending')
  pill.dataset.status = status
  pill.textContent = t(`apkt.status.${status}`)
  $('apkt-card').dataset.status = status
}

// ---- wiring ------------------------------------------------------------------

function wire () {
  langToggle($('lang'))
  onLangChange(() => { buildPauseMenu(); buildWrapupOptions(); render() })
  $('error-close').addEventListener('click', clearError)
  $('signout').addEventListener('click', () => signOut())
  wireSignInForm(signIn, () => t('signin.checking'))
  for (const b of document.querySelectorAll('#topics .topic')) b.addEventListener('click', () => pickTopic(b.dataset.topic))
  $('inquiry-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const call = ui.call
    if (call === undefined || ui.topic === undefined) return
    // Read the form before act() disables it: disabled fields are not in FormData.
    const body = inquiryBody()
    void act('inquiry', () => submitInquiry(call, body))
  })
  $('consent-yes').addEventListener('click', () => { void act('consent', () => recordConsent(true)) })
  $('consent-no').addEventListener('click', () => { void act('consent', () => recordConsent(false)) })
  $('transfer').addEventListener('click', () => { void act('transfer', directTransfer) })
  $('login-interface').addEventListener('input', () => { ui.ifaceDirty = true })
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const iface = $('login-interface').value.trim()
    void act('shift', () => shiftLogin(iface))
  })
  $('logout').addEventListener('click', () => { void act('shift', shiftLogout) })
  $('ready').addEventListener('click', () => { void act('shift', shiftReady) })
  $('wrapup-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const call = ui.call
    const code = $('wrapup-code').value
    if (call === undefined || code === '') return
    const note = $('wrapup-note').value.trim()
    void act('wrapup', () => chooseWrapup(call, note === '' ? { code } : { code, note }))
  })
  setInterval(tick, 250)
}

wire()
resumeSession(TOKEN_KEY, signIn, signOut)
