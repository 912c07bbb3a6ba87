// Server-Sent Events over fetch(). EventSource cannot send an Authorization header and
// the token must not go into the URL, so the dashboard reads the stream itself.

/**
 * Incremental parser for the text/event-stream format (WHATWG HTML, "Server-sent
 * events"): chunks may split anywhere, lines end in LF, CRLF or CR, `data:` lines
 * join with LF, comments start with ':', a blank line dispatches.
 */
export class SseParser {
  constructor () {
    this.buffer = ''
    this.pendingCR = false
    this.reset()
  }

  reset () { this.event = ''; this.data = []; this.hasData = false }

  /** Feeds text; returns the events completed by it: { event, data, id?, retry? }. */
  push (chunk) {
    const out = []
    let text = chunk
    // A CR at the end of the last chunk may be the first half of CRLF.
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1)
    this.pendingCR = false
    this.buffer += text
    let start = 0
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i]
      if (ch !== '\n' && ch !== '\r') continue
      const line = this.buffer.slice(start, i)
      if (ch === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCR = true
        else if (this.buffer[i + 1] === '\n') i++
      }
      start = i + 1
      this.line(line, out)
    }
    this.buffer = this.buffer.slice(start)
    return out
  }

  line (line, out) {
    if (line === '') {
      if (this.hasData) {
        const ev = { event: this.event === '' ? 'message' : this.event, data: this.data.join('\n') }
        if (this.lastId !== undefined) ev.id = this.lastId
        out.push(ev)
      }
      this.reset()
      return
    }
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') { this.data.push(value); this.hasData = true }
    else if (field === 'id' && !value.includes('\0')) this.lastId = value
    else if (field === 'retry' && /^\d+$/.test(value)) out.push({ event: '', data: '', retry: Number(value) })
  }
}

/**
 * Keeps a stream open until stop(): reconnects with exponential back-off (from the
 * server's `retry:` hint, doubling to maxMs, with jitter so a room of dashboards does
 * not reconnect in step) after the stream ends, errors, or goes silent longer than
 * idleMs (the server sends a keep-alive comment every 15 s).
 * onStatus gets { state: 'connecting' | 'live' | 'retrying' | 'denied', inMs?, error? }.
 * 401 and 403 stop reconnecting: a wrong token does not get better by retrying.
 */
export function openEventStream ({ url, token, onEvent, onStatus, initialMs = 1000, maxMs = 30_000, idleMs = 45_000 }) {
  let stopped = false
  let controller
  let delay = initialMs
  let base = initialMs
  let timer

  const status = (s) => { try { onStatus?.(s) } catch (err) { console.error(err) } }

  async function once () {
    controller = new AbortController()
    let idle
    const touch = () => { clearTimeout(idle); idle = setTimeout(() => controller.abort(new Error('stream went silent')), idleMs) }
    status({ state: 'connecting' })
    try {
      touch()
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, cache: 'no-store', signal: controller.signal })
      if (res.status === 401 || res.status === 403) {
        let body
        try { body = await res.json() } catch {}
        status({ state: 'denied', error: body?.message ?? res.statusText, status: res.status })
        return false
      }
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`)
      const parser = new SseParser()
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let first = true
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        touch()
        for (const ev of parser.push(value)) {
          if (ev.retry !== undefined) { base = Math.min(Math.max(ev.retry, 250), maxMs); continue }
          let data
          try { data = JSON.parse(ev.data) } catch { data = ev.data }
          if (first) { first = false; delay = base; status({ state: 'live' }) }
          try { onEvent(ev.event, data, ev.id) } catch (err) { console.error('event handler failed', err) }
        }
      }
      throw new Error('stream ended')
    } finally {
      clearTimeout(idle)
    }
  }

  async function loop () {
    while (!stopped) {
      let error
      try {
        if ((await once()) === false) return
      } catch (err) {
        error = err instanceof Error ? err.message : String(err)
      }
      if (stopped) return
      const wait = Math.round(delay * (0.8 + Math.random() * 0.4))
      status({ state: 'retrying', inMs: wait, error })
      delay = Math.min(delay * 2, maxMs)
      await new Promise(resolve => { timer = setTimeout(resolve, wait) })
    }
  }

  void loop()
  return {
    stop () { stopped = true; clearTimeout(timer); controller?.abort() },
    /** Drops the current connection (the loop reconnects), e.g. after the tab slept. */
    reconnect () { controller?.abort(new Error('reconnect requested')) }
  }
}
