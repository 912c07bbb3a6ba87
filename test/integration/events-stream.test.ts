// GET /v1/events over a real socket: two dashboards open at once each get every change,
// byte for byte the same frame, in order (one serialisation serves every stream).
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'

async function openStream (url: string, signal: AbortSignal): Promise<{ frames: () => string[], until: (pred: (f: string) => boolean) => Promise<string> }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKENS.supervisor}` }, signal })
  if (res.status !== 200 || res.body === null) throw new Error(`stream answered ${res.status}`)
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buf = ''
  const frames: string[] = []
  let waiting: (() => void) | undefined
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done === true) return
      buf += decoder.decode(value, { stream: true })
      let i
      while ((i = buf.indexOf('\n\n')) >= 0) { frames.push(buf.slice(0, i)); buf = buf.slice(i + 2) }
      waiting?.()
    }
  })()
  const until = async (pred: (f: string) => boolean): Promise<string> => {
    const deadline = Date.now() + 5000
    for (;;) {
      const f = frames.find(pred)
      if (f !== undefined) return f
      if (Date.now() > deadline) throw new Error(`no such frame; got:\n${frames.join('\n---\n')}`)
      await new Promise<void>(resolve => { waiting = resolve; setTimeout(resolve, 100) })
    }
  }
  return { frames: () => frames.filter(f => f.startsWith('id: ')), until }
}

t.test('two open streams get the same frames for every change', async t => {
  const s = await startAppStack(t)
  const { port } = s.svc.app.server.address() as AddressInfo
  const ctl = new AbortController()
  t.teardown(() => { ctl.abort() })
  const url = `http://127.0.0.1:${port}/v1/events`
  const a = await openStream(url, ctl.signal)
  const b = await openStream(url, ctl.signal)
  await a.until(f => f.includes('event: snapshot'))
  await b.until(f => f.includes('event: snapshot'))

  await s.connectedCall('sse-1')
  await s.connectedCall('sse-2', '1002')
  const lastOf = (f: string): boolean => f.includes('event: call') && f.includes('"sse-2"') && f.includes('"connected"')
  await a.until(lastOf)
  await b.until(lastOf)
  const fa = a.frames()
  const fb = b.frames()
  t.ok(fa.some(f => f.includes('"sse-1"')) && fa.some(f => f.includes('"sse-2"')), 'both calls streamed')
  t.same(fb, fa, 'the second stream got the very same frames, in the same order')
  const ids = fa.map(f => Number(/^id: (\d+)/.exec(f)?.[1]))
  t.same(ids, [...ids].sort((x, y) => x - y), 'in sequence')
  t.equal(new Set(ids).size, ids.length, 'each message once')
})
