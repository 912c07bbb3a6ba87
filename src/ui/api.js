// The pages are plain clients of the public API (CONTRACT.md section 4): every
// request carries the bearer token in the Authorization header, never in the URL.
import { t } from './i18n.js'

/** An answer other than 2xx, with the API's { error, message } when it sent one. */
export class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

export function createApi (token) {
  async function request (method, path, body) {
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res
    try {
      res = await fetch(path, { method, headers, cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
    } catch (err) {
      throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err))
    }
    const text = await res.text()
    let parsed
    try { parsed = text === '' ? undefined : JSON.parse(text) } catch { parsed = text }
    if (!res.ok) {
      const code = typeof parsed?.error === 'string' ? parsed.error : `HTTP_${res.status}`
      const message = typeof parsed?.message === 'string' ? parsed.message : res.statusText
      const err = new ApiError(res.status, code, message)
      err.body = parsed
      throw err
    }
    return parsed
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body = {}) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    del: (path) => request('DELETE', path)
  }
}

/** Token for this tab only: sessionStorage, gone when the tab closes. */
export const session = {
  get (key) { try { return sessionStorage.getItem(key) ?? undefined } catch { return undefined } },
  set (key, value) { try { sessionStorage.setItem(key, value) } catch {} },
  clear (key) { try { sessionStorage.removeItem(key) } catch {} }
}

/**
 * Builds an element. Text goes in as text nodes only: caller ids, names and
 * Asterisk messages come from outside and are never parsed as HTML.
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'dataset') Object.assign(el.dataset, v)
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

// The contact center works in Jakarta time whatever the browser's zone.
const TZ = 'Asia/Jakarta'
const clock = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
const dayKey = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' })

export function timeOf (iso) {
  if (iso === undefined || iso === null) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '—' : clock.format(d)
}

/** YYYY-MM-DD in Jakarta, to tell "today" from earlier. */
export function jakartaDay (iso) {
  const d = iso === undefined ? new Date() : new Date(iso)
  return dayKey.format(d)
}

/** m:ss (or h:mm:ss) for a duration in ms; negative counts as zero. */
export function duration (ms) {
  const s = Math.max(0, Math.floor(ms / 1000))
  const hh = Math.floor(s / 3600)
  const mm = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}

/** Whole seconds left until iso, rounded up so "0" means it is over. */
export function secondsUntil (iso, now = Date.now()) {
  const end = new Date(iso).getTime()
  return Number.isNaN(end) ? 0 : Math.max(0, Math.ceil((end - now) / 1000))
}

/**
 * The sign-in form both pages share: reads the token from the password field (never
 * a URL), shows "checking", then the API's refusal as CODE: message.
 */
export function wireSignInForm (signIn, checkingText) {
  const byId = (id) => document.getElementById(id)
  byId('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault()
    const token = byId('token').value.trim()
    if (token === '') return
    const e = byId('signin-error')
    e.hidden = false
    e.textContent = checkingText()
    signIn(token).then(() => { e.hidden = true; byId('token').value = '' }, (err) => {
      e.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)
    })
  })
}

/**
 * On page load: resumes this tab's session when it holds a token (a reload keeps the
 * agent signed in), else shows the sign-in form. A refused token signs out saying the
 * session ended; a network failure with its own message.
 */
export function resumeSession (key, signIn, signOut) {
  const saved = session.get(key)
  if (saved === undefined) { signOut(); return }
  signIn(saved).catch((err) => signOut(err instanceof ApiError && err.status !== 0 ? t('error.session') : String(err?.message ?? err)))
}

/**
 * Shows `err` in the page's error box (#error, #error-code, #error-message; data-code
 * names the error). A 401 means the session is over: it signs out instead, saying so,
 * and returns false.
 */
export function showErrorBox (err, signOut) {
  if (err instanceof ApiError && err.status === 401) { signOut(t('error.session')); return false }
  const code = err instanceof ApiError ? err.code : 'ERROR'
  const message = err instanceof ApiError && err.code === 'NETWORK' ? t('error.network', { message: err.message }) : (err?.message ?? String(err))
  const box = document.getElementById('error')
  document.getElementById('error-code').textContent = code
  document.getElementById('error-message').textContent = message
  box.hidden = false
  box.dataset.code = code
  return true
}

/** A notice in the page's #notice box that hides itself after `ms` (one at a time: a new one replaces it). */
export function noticeBox (ms) {
  let timer
  return (text) => {
    const n = document.getElementById('notice')
    n.textContent = text
    n.hidden = false
    clearTimeout(timer)
    timer = setTimeout(() => { n.hidden = true }, ms)
  }
}

/** Back to the sign-in form, showing why (a refused token, an expired session) or nothing. */
export function showSignIn (reason) {
  const byId = (id) => document.getElementById(id)
  byId('signin').hidden = false
  const e = byId('signin-error')
  e.hidden = reason === undefined
  e.textContent = reason ?? ''
  byId('token').value = ''
  byId('token').focus()
}
