// Volume through a receiver that keeps failing in every way it can: 1,000 records,
// none lost, each held once after deduplication, creation order kept per agent.
import path from 'node:path'
import t from 'tap'
import { Dispatcher } from '../../src/apkt/dispatcher.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { fillOutbox, openApktStore, openOutbox, Receiver, RECEIVER_TOKEN, type Answer } from '../helpers/apkt.ts'

const AGENTS = Array.from({ length: 25 }, (_, i) => `${2000 + i}`)
const PER_AGENT = 40 // 1,000 records

t.test('1,000 records through a flapping receiver: zero lost', async t => {
  // A fixed cycle of answers, so every failure kind recurs throughout the run.
  const cycle: Answer[] = [
    { status: 500 },
    { status: 201, delayMs: 150 }, // past the client's timeout, yet committed: a duplicate later
    { status: 200 },
    { status: 503, headers: { 'retry-after': '0' } },
    { status: 200, delayMs: 20 }, // slow but in time
    { status: 0, destroy: true }, // connection dropped mid-request
    { status: 429 },
    { status: 202 }
  ]
  const receiver = await Receiver.start(req => cycle[req.n % cycle.length] as Answer)
  const store = await openApktStore(path.join(t.testdir(), 'cti.db'))
  const outbox = openOutbox(store)
  const ids = await fillOutbox(outbox, AGENTS, PER_AGENT)
  const dispatcher = new Dispatcher({ outbox, url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 80, concurrency: 16, pollMs: 20, backoff: { initialMs: 5, maxMs: 40 } })
  t.teardown(async () => { await dispatcher.stop(1000); await receiver.stop(); await store.close() })

  // The receiver also goes away entirely, twice, while records flow.
  dispatcher.start()
  for (const atDelivered of [250, 600]) {
    await eventually(`${atDelivered} delivered`, async () => (await outbox.stats()).delivered >= atDelivered, 30_000).catch(async (err: Error) => {
      // Say where it stood, not just that time ran out.
      throw new Error(`${err.message}: outbox ${JSON.stringify(await outbox.stats())}, ${outbox.claimedCount} claimed, ${dispatcher.inFlightCount} deliveries going; receiver: ${receiver.received.length} requests, ${receiver.inflight} in flight`)
    })
    await receiver.down()
    await new Promise(resolve => setTimeout(resolve, 150))
    await receiver.up()
  }
  await eventually('every record delivered', async () => (await outbox.stats()).pending === 0, 40_000)
  await waitFor('late answers to land', () => receiver.inflight === 0)

  const all = [...ids.values()].flat()
  t.equal(all.length, 1000)
  t.match(await outbox.stats(), { pending: 0, delivered: 1000, dead: 0 }, 'every record delivered, none dead')
  t.equal(receiver.accepted.size, 1000, 'the receiver holds 1,000 records after deduplication')
  t.strictSame([...receiver.accepted.keys()].sort(), [...all].sort(), 'exactly the records of the outbox, none lost, none invented')
  for (const id of all) {
    if (receiver.accepted.get(id)?.id !== id) { t.fail(`${id}: body id differs from its Idempotency-Key`); break }
  }
  const outOfOrder = AGENTS.filter(a => JSON.stringify(receiver.orderFor(a)) !== JSON.stringify(ids.get(a)))
  t.strictSame(outOfOrder, [], 'creation order per agent')
  t.ok(receiver.received.length > 1500, `the receiver failed a lot (${receiver.received.length} requests for 1,000 records)`)
  t.ok(receiver.duplicates > 0, `duplicates were absorbed by the key (${receiver.duplicates})`)
})
