// GET /v1/events must not let one client grow the process: a dashboard that stops
// reading (a frozen tab, a stalled proxy) is dropped once its unsent bytes pass
// http.events.maxBufferBytes, and streams are capped per token and in all (429
// TOO_MANY_STREAMS). The stalled client here is a raw TCP socket that sends its
// request and then never reads, while many large messages are published.
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import pino from 'pino'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'
import { eventually } from '../helpers/ami.ts'

function recordingLogger (): { logger: pino.Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, any>) } })
  return { logger, lines }
}

/** Sends the request, waits for the first bytes (the headers and snapshot), then stops reading. */
async function stalledClient (port: number, token: string): Promise<{ sock: net.Socket, head: string }> {
  const sock = net.connect(port, '127.0.0.1')
  sock.on('error', () => {})
  await new Promise<void>(resolve => sock.once('connect', () => resolve()))
  sock.write(`GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  const head = await new Promise<string>(resolve => sock.once('data', (d: Buffer) => resolve(d.toString('latin1'))))
  sock.pause()
  return { sock, head }
}

/** A dashboard that reads everything; `lastSeq` is the id of the last frame it got. */
async function readingClient (url: string, token: string, signal: AbortSignal): Promise<{ lastSeq: () => number, closed: () => boolean }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal })
  if (res.status !== 200 || res.body === null) throw new Error(`stream answered ${res.status}`)
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let tail = ''
  let seq = 0
  let closed = false
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done === true) { closed = true; return }
      tail = (tail + decoder.decode(value, { stream: true })).slice(-200_000)
      for (const m of tail.matchAll(/^id: (\d+)$/gm)) seq = Math.max(seq, Number(m[1]))
      tail = tail.slice(tail.lastIndexOf('\n\n') + 2)
    }
  })()
  return { lastSeq: () => seq, closed: () => closed }
}

t.test('a client that stops reading is dropped once its unsent buffer passes maxBufferBytes; a reading one is not', async t => {
  const { logger, lines } = recordingLogger()
  const s = await startAppStack(t, { logger })
  const MAX = 1_048_576
  t.equal(s.svc.config.http.events?.maxBufferBytes, MAX, 'the default bound: 1 MiB')
  const { port } = s.svc.app.server.address() as AddressInfo
  const serverSockets: net.Socket[] = []
  s.svc.app.server.on('connection', (c: net.Socket) => serverSockets.push(c))
  const ctl = new AbortController()
  t.teardown(() => { ctl.abort() })

  const stalled = await stalledClient(port, TOKENS.supervisor)
  t.match(stalled.head, /^HTTP\/1\.1 200/, 'the stalled client got its stream')
  t.teardown(() => { stalled.sock.destroy() })
  const healthy = await readingClient(`http://127.0.0.1:${port}/v1/events`, TOKENS.supervisor, ctl.signal)
  const stalledServerSide = serverSockets[0] as net.Socket

  // 64 KiB messages, 8 at a time (512 KiB, under the bound), the next batch once the
  // reading dashboard has the last one: it keeps up, the stalled one cannot.
  const payload = 'x'.repeat(64 * 1024)
  const FRAME = payload.length + 200
  let published = 0
  let maxBuffered = 0
  let seq = 0
  while (!stalledServerSide.destroyed && published < 64 * 1024 * 1024) {
    for (let i = 0; i < 8; i++) {
      s.svc.feed.publish('agent', { id: '1001', pad: payload })
      seq++
      published += FRAME
      maxBuffered = Math.max(maxBuffered, stalledServerSide.writableLength)
    }
    await eventually('the reading dashboard keeps up', async () => healthy.lastSeq() >= seq ? true : undefined, 10_000)
  }
  if (!t.ok(stalledServerSide.destroyed, `the server dropped the stalled stream (after ${Math.round(published / 1024)} KiB published; ${stalledServerSide.writableLength} bytes waiting for it)`)) return
  t.ok(maxBuffered <= MAX + FRAME, `the server held at most ${maxBuffered} unsent bytes for it (bound ${MAX} + one frame)`)
  const dropped = lines.filter(l => l.msg === 'event stream dropped: the client is not reading')
  t.equal(dropped.length, 1, 'one log line says why')
  t.match(dropped[0], { sse: { maxBufferBytes: MAX, client: 'supervisor' } })
  t.ok((dropped[0]?.sse?.bufferedBytes as number) > MAX, 'with the buffered size that passed the bound')

  // The stalled client, reading again, gets what was already in flight and then the end.
  let received = 0
  stalled.sock.on('data', (d: Buffer) => { received += d.length })
  const closed = new Promise<void>(resolve => stalled.sock.once('close', () => resolve()))
  stalled.sock.resume()
  await closed
  t.ok(received < published, `its socket closed after ${Math.round(received / 1024)} KiB of ${Math.round(published / 1024)} KiB published`)
  t.notOk(healthy.closed(), 'the dashboard that reads is still open')
  t.ok(healthy.lastSeq() >= seq, 'and has every message')
})

t.test('streams are capped per token and in all: 429 TOO_MANY_STREAMS, and a closed stream frees its place', async t => {
  const OTHER = 'test-supervisor-2-token-0123456789'
  const s = await startAppStack(t, {
    edit: raw => {
      raw.http.events = { maxStreamsPerToken: 2, maxStreams: 3 }
      raw.auth.tokens.push({ token: OTHER, role: 'supervisor', name: 'supervisor-2' })
    }
  })
  const { port } = s.svc.app.server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}/v1/events`
  const streams: AbortController[] = []
  t.teardown(() => { for (const c of streams) c.abort() })
  const open = async (token: string): Promise<{ status: number, body: any, ctl: AbortController }> => {
    const ctl = new AbortController()
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal })
    if (res.status === 200) { streams.push(ctl); return { status: 200, body: undefined, ctl } }
    return { status: res.status, body: await res.json(), ctl }
  }
  const a1 = await open(TOKENS.supervisor)
  t.equal(a1.status, 200)
  t.equal((await open(TOKENS.supervisor)).status, 200, 'two streams for one token')
  const a3 = await open(TOKENS.supervisor)
  t.equal(a3.status, 429, 'the third for the same token is refused')
  t.match(a3.body, { error: 'TOO_MANY_STREAMS', message: /at most 2/ })
  t.equal((await open(OTHER)).status, 200, 'another token still gets one')
  const b2 = await open(OTHER)
  t.equal(b2.status, 429, 'but not past the total of 3')
  t.match(b2.body, { error: 'TOO_MANY_STREAMS', message: /at most 3/ })
  a1.ctl.abort()
  await eventually('a place freed', async () => (await open(OTHER)).status === 200 ? true : undefined, 5000)
  t.pass('after one stream closed, a new one opens')
})
