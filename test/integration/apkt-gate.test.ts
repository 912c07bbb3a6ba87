// The APKT dispatcher's gate (DispatcherOptions.mayAct): an HA group's instance that may
// not act now claims nothing and posts nothing; the moment it may, it delivers. A real
// receiver and a real store (SQLite file: the gate is the dispatcher's, not the engine's).
import path from 'node:path'
import t from 'tap'
import { Dispatcher } from '../../src/apkt/dispatcher.ts'
import { eventually } from '../helpers/ami.ts'
import { fillOutbox, openApktStore, openOutbox, Receiver, RECEIVER_TOKEN, sleep } from '../helpers/apkt.ts'

t.test('gate shut: nothing claimed or sent over many polls; opened: every record delivered', async t => {
  const receiver = await Receiver.start()
  const store = await openApktStore(path.join(t.testdir(), 'cti.db'))
  const outbox = openOutbox(store)
  let open = false
  let asked = 0
  const dispatcher = new Dispatcher({ outbox, url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 500, pollMs: 20, mayAct: () => { asked++; return open } })
  t.teardown(async () => { await dispatcher.stop(1000); await receiver.stop(); await store.close() })
  await fillOutbox(outbox, ['1001', '1002'], 3)
  dispatcher.start()
  dispatcher.kick()
  await sleep(400)
  t.ok(asked >= 5, `the gate was asked at each poll (${asked})`)
  t.equal(receiver.received.length, 0, 'nothing sent while the gate is shut')
  const entries = await outbox.list()
  t.equal(entries.length, 6)
  t.ok(entries.every(e => e.status === 'pending' && e.attempts === 0), 'every record still pending, never attempted')
  open = true
  await eventually('all delivered', async () => (await outbox.stats()).pending === 0 ? true : undefined, 10_000)
  t.equal(new Set(receiver.received.map(r => r.key)).size, 6, 'each record delivered once the gate opened')
})
