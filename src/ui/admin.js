// The "Agen" admin page (admin token): every agent, from the config file and created
// here; add and change agents, remove them, issue an agent's token (shown once). Plain
// client of the admin API (CONTRACT.md section 7): the API checks every field and its
// 400 names the field, which the form shows beside that field.
import { ApiError, createApi, h, resumeSession, session, noticeBox, showErrorBox, showSignIn, wireSignInForm } from './api.js'
import { langToggle, onLangChange, t } from './i18n.js'

const TOKEN_KEY = 'pln123.admin.token'
// Who is logged in changes on its own; the list is re-read now and then.
const POLL_MS = 5000
const FORM_FIELDS = ['agentId', 'name', 'queues', 'unit', 'unitPelayanan', 'interface']

const $ = (id) => document.getElementById(id)

const st = {
  api: undefined,
  agents: [],
  /** the agent the form changes; undefined: the form adds one */
  editing: undefined,
  /** the agent whose Remove button asks for a second click */
  confirming: undefined,
  /** the agent the token card is for */
  tokenFor: undefined,
  pollTimer: undefined,
  generation: 0
}

// ---- errors and notices -------------------------------------------------------------

function showError (err) { showErrorBox(err, signOut) }

function clearError () { $('error').hidden = true; delete $('error').dataset.code }

const notice = noticeBox(5000)

/** The form field a 400 names: `params.agentId`, `body.unit`, `body.queues[1]` → agentId, unit, queues. */
function fieldOf (err) {
  const raw = typeof err?.body?.field === 'string' ? err.body.field : undefined
  if (raw === undefined) return undefined
  return raw.replace(/^(body|params)\.?/, '').replace(/\[\d+\]$/, '').split('.')[0] || undefined
}

// ---- sign in / out ------------------------------------------------------------------

async function signIn (token) {
  const api = createApi(token)
  // The list is admin-only: reading it proves the role.
  const agents = await api.get('/v1/admin/agents')
  st.api = api
  st.generation++
  st.agents = agents
  session.set(TOKEN_KEY, token)
  $('signin').hidden = true
  $('admin').hidden = false
  $('signout').hidden = false
  resetForm()
  closeToken()
  render()
  schedulePoll(st.generation)
}

function signOut (reason) {
  st.generation++
  clearTimeout(st.pollTimer)
  session.clear(TOKEN_KEY)
  st.api = undefined
  st.agents = []
  st.editing = undefined
  st.confirming = undefined
  $('admin').hidden = true
  $('signout').hidden = true
  clearError()
  showSignIn(reason)
}

async function refresh () {
  if (st.api === undefined) return
  const agents = await st.api.get('/v1/admin/agents')
  // Unchanged: the rows stay as they are (a button under the pointer is not replaced).
  if (JSON.stringify(agents) === JSON.stringify(st.agents)) return
  st.agents = agents
  render()
}

function schedulePoll (generation) {
  st.pollTimer = setTimeout(async () => {
    if (generation !== st.generation) return
    try { await refresh() } catch (err) { if (err instanceof ApiError && err.status === 401) { signOut(t('error.session')); return } }
    if (generation === st.generation) schedulePoll(generation)
  }, POLL_MS)
}

// ---- the list -----------------------------------------------------------------------

function render () {
  $('agents').replaceChildren(...st.agents.map(row))
  $('agents-empty').hidden = st.agents.length > 0
  $('agents-table').hidden = st.agents.length === 0
  renderForm()
  renderToken()
}

function row (a) {
  const confirming = st.confirming === a.id
  return h('tr', { dataset: { agent: a.id, inConfig: String(a.inConfig) } },
    h('td', { class: 'mono' }, a.id),
    h('td', {}, a.name ?? '—'),
    h('td', { class: 'mono' }, a.interface ?? '—'),
    h('td', { class: 'mono' }, a.queues.join(', ')),
    h('td', { class: 'small' }, a.unit),
    h('td', { class: 'small' }, a.unitPelayanan),
    h('td', {}, h('span', { class: 'pill', dataset: { loggedIn: String(a.loggedIn) } }, t(a.loggedIn ? 'admin.loggedIn' : 'admin.loggedOut'))),
    h('td', {}, h('span', { class: 'pill source', dataset: { source: a.inConfig ? 'config' : 'api' }, title: a.inConfig ? t('admin.config.hint') : undefined }, t(a.inConfig ? 'admin.source.config' : 'admin.source.api'))),
    h('td', {}, h('div', { class: 'row-actions' },
      // An agent of the config file is changed there: the API answers 409 AGENT_IN_CONFIG.
      a.inConfig ? null : h('button', { type: 'button', class: 'btn btn-line btn-small edit', onclick: () => { edit(a) } }, t('admin.edit')),
      h('button', { type: 'button', class: 'btn btn-line btn-small token', onclick: () => { openToken(a.id) } }, t('admin.token')),
      a.inConfig
        ? null
        : h('button', { type: 'button', class: confirming ? 'btn btn-danger btn-small remove confirm' : 'btn btn-danger btn-small remove', onclick: (ev) => { void remove(a.id, ev.currentTarget) } },
          t(confirming ? 'admin.removeConfirm' : 'admin.remove')))))
}

async function remove (id, button) {
  // A second click removes: no browser dialog, and a stray click does nothing.
  if (st.confirming !== id) { st.confirming = id; render(); return }
  st.confirming = undefined
  button.disabled = true
  try {
    await st.api.del(`/v1/admin/agents/${encodeURIComponent(id)}`)
    clearError()
    notice(t('admin.removed', { id }))
    if (st.editing === id) resetForm()
    if (st.tokenFor === id) closeToken()
  } catch (err) {
    showError(err) // 409 AGENT_BUSY names why (logged in, on a call, in ACW)
  }
  await refresh().catch(showError)
}

// ---- the add / change form ------------------------------------------------------------

function edit (a) {
  st.editing = a.id
  $('f-id').value = a.id
  $('f-name').value = a.name ?? ''
  $('f-queues').value = a.queues.join(', ')
  $('f-unit').value = a.unit
  $('f-unitPelayanan').value = a.unitPelayanan
  $('f-interface').value = a.interface ?? ''
  clearFieldErrors()
  renderForm()
  $('f-name').focus()
}

function resetForm () {
  st.editing = undefined
  $('agent-form').reset()
  clearFieldErrors()
  renderForm()
}

function renderForm () {
  const editing = st.editing !== undefined
  $('form-title').textContent = editing ? t('admin.form.edit', { id: st.editing }) : t('admin.form.new')
  $('f-id').readOnly = editing
}

function clearFieldErrors () {
  for (const p of document.querySelectorAll('#agent-form .field-error')) { p.hidden = true; p.textContent = '' }
  for (const i of document.querySelectorAll('#agent-form input')) i.removeAttribute('aria-invalid')
  $('form-error').hidden = true
}

function showFieldError (field, message) {
  const p = document.querySelector(`#agent-form .field-error[data-for="${field}"]`)
  if (p === null) return false
  p.textContent = message
  p.hidden = false
  p.closest('.field')?.querySelector('input')?.setAttribute('aria-invalid', 'true')
  return true
}

function formBody () {
  const text = (id) => $(id).value.trim()
  const body = {
    queues: text('f-queues').split(',').map(q => q.trim()).filter(q => q !== ''),
    unit: text('f-unit'),
    unitPelayanan: text('f-unitPelayanan')
  }
  // Optional fields left empty are left out: no name, no phone of its own (given at login).
  if (text('f-name') !== '') body.name = text('f-name')
  if (text('f-interface') !== '') body.interface = text('f-interface')
  return body
}

async function save (ev) {
  ev.preventDefault()
  clearFieldErrors()
  const id = $('f-id').value.trim()
  if (id === '') { showFieldError('agentId', t('admin.f.id.hint')); return }
  const button = $('form-save')
  button.disabled = true
  try {
    const saved = await st.api.put(`/v1/admin/agents/${encodeURIComponent(id)}`, formBody())
    clearError()
    notice(t(st.editing === undefined ? 'admin.created' : 'admin.changed', { id: saved?.id ?? id }))
    resetForm()
    await refresh()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { signOut(t('error.session')); return }
    // The API's own words, beside the field it names; else under the form.
    const field = err instanceof ApiError && err.status === 400 ? fieldOf(err) : undefined
    const shown = field !== undefined && FORM_FIELDS.includes(field) && showFieldError(field, err.message)
    if (!shown) {
      const e = $('form-error')
      e.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)
      e.hidden = false
    }
  } finally {
    button.disabled = false
  }
}

// ---- tokens ---------------------------------------------------------------------------

function openToken (id) {
  st.tokenFor = id
  $('token-form').reset()
  $('token-form').hidden = false
  $('token-shown').hidden = true
  $('token-value').value = ''
  $('token-error').hidden = true
  const fe = document.querySelector('#token-form .field-error')
  fe.hidden = true
  renderToken()
  $('token-card').hidden = false
  $('token-holder').focus()
}

function closeToken () {
  st.tokenFor = undefined
  // The token leaves the page: it was shown once.
  $('token-value').value = ''
  $('token-card').hidden = true
}

function renderToken () {
  if (st.tokenFor !== undefined) $('token-title').textContent = t('admin.token.title', { id: st.tokenFor })
}

async function issueToken (ev) {
  ev.preventDefault()
  const id = st.tokenFor
  if (id === undefined) return
  $('token-error').hidden = true
  const fe = document.querySelector('#token-form .field-error')
  fe.hidden = true
  const holder = $('token-holder').value.trim()
  const body = { ...(holder !== '' ? { name: holder } : {}), ...($('token-revoke').checked ? { revokeOthers: true } : {}) }
  $('token-issue').disabled = true
  try {
    const issued = await st.api.post(`/v1/admin/agents/${encodeURIComponent(id)}/tokens`, body)
    $('token-form').hidden = true
    $('token-shown').hidden = false
    $('token-value').value = issued.token
    $('token-copy-state').hidden = true
    $('token-revoked').hidden = issued.revokedOthers !== true
    $('token-value').select()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { signOut(t('error.session')); return }
    const target = err instanceof ApiError && err.status === 400 && fieldOf(err) === 'name' ? fe : $('token-error')
    target.textContent = err instanceof ApiError ? (target === fe ? err.message : `${err.code}: ${err.message}`) : String(err)
    target.hidden = false
  } finally {
    $('token-issue').disabled = false
  }
}

async function copyToken () {
  const input = $('token-value')
  const state = $('token-copy-state')
  let ok = false
  try {
    await navigator.clipboard.writeText(input.value)
    ok = true
  } catch {
    // No clipboard API outside a secure context (plain http on the LAN): the old way.
    input.focus()
    input.select()
    try { ok = document.execCommand('copy') } catch { ok = false }
  }
  state.textContent = t(ok ? 'admin.token.copied' : 'admin.token.copyFailed')
  state.dataset.copied = String(ok)
  state.hidden = false
}

// ---- wiring ---------------------------------------------------------------------------

function wire () {
  langToggle($('lang'))
  onLangChange(() => { if (st.api !== undefined) render() })
  $('error-close').addEventListener('click', clearError)
  $('signout').addEventListener('click', () => signOut())
  wireSignInForm(signIn, () => t('signin.checking'))
  $('refresh').addEventListener('click', () => { refresh().catch(showError) })
  $('new-agent').addEventListener('click', () => { resetForm(); $('f-id').focus() })
  $('form-cancel').addEventListener('click', resetForm)
  $('agent-form').addEventListener('submit', (ev) => { void save(ev) })
  $('token-form').addEventListener('submit', (ev) => { void issueToken(ev) })
  $('token-cancel').addEventListener('click', closeToken)
  $('token-close').addEventListener('click', closeToken)
  $('token-copy').addEventListener('click', () => { void copyToken() })
  // A click elsewhere cancels a pending "really remove?".
  document.addEventListener('click', (ev) => {
    if (st.confirming !== undefined && !(ev.target instanceof Element && ev.target.closest('button.remove'))) { st.confirming = undefined; render() }
  })
}

wire()
resumeSession(TOKEN_KEY, signIn, signOut)
