// The dispatcher against a real HTTP receiver: what is sent, what is retried, what
// dies, and a supervisor bringing a dead record back (CONTRACT.md sections 4 and 5).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import t, { type Test } from 'tap'
import { Dispatcher, type DispatcherOptions } from '../../src/apkt/dispatcher.ts'
import type { OutboxStatus } from '../../src/apkt/outbox.ts'
import { buildApktRecord } from '../../src/apkt/record.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { bearer, testApp, TOKENS } from '../helpers/apkt-app.ts'
import { fillOutbox, makeRecord, openApktStore, openOutbox, Receiver, RECEIVER_TOKEN, sleep, type Behaviour } from '../helpers/apkt.ts'
import { stall } from '../helpers/stall.ts'

async function rig (t: Test, behaviour?: Behaviour, opts: Partial<DispatcherOptions> = {}) {
  const receiver = await Receiver.start(behaviour)
  const store = await openApktStore(path.join(t.testdir(), `cti-${Math.random().toString(36).slice(2)}.db`))
  const outbox = openOutbox(store)
  const dispatcher = new Dispatcher({
    outbox,
    url: receiver.url,
    token: RECEIVER_TOKEN,
    timeoutMs: 500,
    concurrency: 4,
    pollMs: 20,
    backoff: { initialMs: 10, maxMs: 100 },
    ...opts
  })
  t.teardown(async () => { await dispatcher.stop(1000); await receiver.stop(); await store.close() })
  const settled = async () => { const s = await outbox.stats(); return s.pending === 0 ? s : undefined }
  /** Until the record has `status` (read from the store). */
  const reaches = async (id: string, status: OutboxStatus, timeoutMs = 10_000) => await eventually(`${id} ${status}`, async () => (await outbox.get(id))?.status === status, timeoutMs)
  return { receiver, store, outbox, dispatcher, settled, reaches }
}

t.test('a record arrives once, with the exact body, bearer token and Idempotency-Key', async t => {
  const { receiver, outbox, dispatcher, reaches } = await rig(t, undefined, { pollMs: 60_000 })
  dispatcher.start()
  const record = buildApktRecord({
    callId: '1732417200.42',
    agentId: '1001',
    topic: 'coverage',
    apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH CILINCING JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' },
    customer: { name: 'Budi', customerId: '538712345678' },
    unit: 'DISTRIBUSI JAKARTA RAYA',
    unitPelayanan: 'UP3 TANJUNG PRIOK',
    at: new Date('2026-11-24T03:00:00Z')
  })
  await outbox.add(record, `${record.callId}:educate`)
  dispatcher.kick() // the poll is a minute away: only the kick can deliver it in time
  await reaches(record.id, 'delivered', 5000)
  t.equal(receiver.received.length, 1, 'one request')
  const got = receiver.received[0]
  t.equal(got?.authorization, `Bearer ${RECEIVER_TOKEN}`)
  t.equal(got?.key, record.id, 'Idempotency-Key is the record id')
  t.match(got?.contentType, /^application\/json/)
  t.strictSame(got?.body, {
    id: record.id,
    jenis: 'KELUHAN',
    tipeKeluhan: 'INFORMASI',
    subTipeKeluhan: 'UMUM',
    unit: 'DISTRIBUSI JAKARTA RAYA',
    unitPelayanan: 'UP3 TANJUNG PRIOK',
    lokasi: null,
    permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH CILINCING JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI',
    callId: '1732417200.42',
    agentId: '1001',
    customer: { name: 'BUDI', customerId: '538712345678' },
    topic: 'coverage',
    createdAt: '2026-11-24T10:00:00+07:00'
  })
  t.match(await outbox.get(record.id), { status: 'delivered', attempts: 1, lastError: null })
  t.ok((await outbox.get(record.id))?.deliveredAt, 'delivery time recorded')
})

t.test('receiver down for a while, then up: everything delivered, in creation order per agent', async t => {
  const { receiver, outbox, dispatcher, settled } = await rig(t)
  await receiver.down()
  const ids = await fillOutbox(outbox, ['1001', '1002', '1003'], 10)
  dispatcher.start()
  const heads = [...ids.values()].map(list => list[0] as string)
  const readHeads = async () => await Promise.all(heads.map(async id => await outbox.get(id)))
  await eventually('every agent\'s first record to have failed twice', async () => (await readHeads()).every(e => (e?.attempts ?? 0) >= 2), 5000)
  t.equal(receiver.received.length, 0, 'nothing got through while down')
  for (const e of await readHeads()) t.match(e?.lastError, /ECONNREFUSED/, 'the reason is kept')
  t.equal((await outbox.stats()).delivered, 0)
  await receiver.up()
  await eventually('all delivered', settled, 10_000)
  t.match(await outbox.stats(), { pending: 0, delivered: 30, dead: 0 })
  t.equal(receiver.accepted.size, 30)
  for (const [agent, list] of ids) t.strictSame(receiver.orderFor(agent), list, `agent ${agent} in creation order`)
})

t.test('500s and timeouts are retried until delivered; the receiver dedupes the late one', async t => {
  const attempt = new Map<string, number>()
  const { receiver, outbox, dispatcher, settled } = await rig(t, req => {
    const n = (attempt.get(req.key ?? '') ?? 0) + 1
    attempt.set(req.key ?? '', n)
    if (n === 1) return { status: 500, body: { error: 'database down' } }
    if (n === 2) return { status: 201, delayMs: 600 } // answers after the client gave up
    return { status: 201 }
  }, { timeoutMs: 200 })
  const ids = [...(await fillOutbox(outbox, ['1001', '1002', '1003'], 1)).values()].flat()
  dispatcher.start()
  await eventually('all delivered', settled, 10_000)
  for (const id of ids) {
    t.match(await outbox.get(id), { status: 'delivered', attempts: 3, lastError: 'no answer within 200 ms' }, 'third attempt delivered; the timeout is the last error')
    t.equal(receiver.countFor(id), 3)
  }
  await waitFor('the late answers to land', () => receiver.inflight === 0)
  t.equal(receiver.accepted.size, 3, 'each record held once')
  t.equal(receiver.duplicates, 3, 'the timed-out attempt was committed too, and deduplicated')
})

t.test('an answer that came in time is read, not timed out, when our own process stalls: one POST', async t => {
  // The receiver shares our process: it answers 201, then blocks the loop past the
  // dispatcher's timeout (a long GC pause, a CPU-starved host); the answer waits in the
  // kernel while the timer falls due.
  let posts = 0
  const server = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      posts++
      res.writeHead(201, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
      stall(600)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const store = await openApktStore(path.join(t.testdir(), 'stall.db'))
  const outbox = openOutbox(store)
  const dispatcher = new Dispatcher({ outbox, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/apkt/records`, token: RECEIVER_TOKEN, timeoutMs: 200, concurrency: 1, pollMs: 20, backoff: { initialMs: 10, maxMs: 100 } })
  t.teardown(async () => { await dispatcher.stop(1000); await store.close() })
  const [id] = [...(await fillOutbox(outbox, ['1001'], 1)).values()].flat()
  dispatcher.start()
  await eventually('delivered', async () => (await outbox.get(id as string))?.status === 'delivered', 5000)
  t.match(await outbox.get(id as string), { status: 'delivered', attempts: 1, lastError: null }, 'delivered at the first attempt')
  t.equal(posts, 1, 'one POST: the answer was not given up on')
})

t.test('408, 429 (with Retry-After), 502, 503 and a dropped connection are retried', async t => {
  const answers = [{ status: 408 }, { status: 429, headers: { 'retry-after': '0' } }, { status: 502 }, { status: 503 }, { status: 0, destroy: true }]
  const seen = new Map<string, number>()
  const { receiver, outbox, dispatcher, settled } = await rig(t, req => {
    const n = seen.get(req.key ?? '') ?? 0
    seen.set(req.key ?? '', n + 1)
    return answers[n] ?? { status: 200 }
  })
  const rec = makeRecord()
  await outbox.add(rec, 'k')
  dispatcher.start()
  await eventually('delivered', settled, 10_000)
  t.match(await outbox.get(rec.id), { status: 'delivered', attempts: 6 })
  t.equal(receiver.countFor(rec.id), 6)
})

t.test('4xx other than 408/429 is dead at once, kept, and visible', async t => {
  for (const status of [400, 401, 403, 404, 409, 422]) {
    const { receiver, outbox, dispatcher, reaches } = await rig(t, () => ({ status, body: { error: `refused with ${status}` } }))
    const rec = makeRecord()
    await outbox.add(rec, 'k')
    dispatcher.start()
    await reaches(rec.id, 'dead')
    await sleep(100) // polls at 20 ms: room for a wrong retry to happen
    t.equal(receiver.countFor(rec.id), 1, `${status}: tried once, not retried`)
    t.match(await outbox.get(rec.id), { status: 'dead', attempts: 1, lastError: new RegExp(`^HTTP ${status}: .*refused with ${status}`) })
    t.strictSame((await outbox.list({ status: 'dead' })).map(e => e.id), [rec.id])
    await dispatcher.stop()
  }
})

t.test('400 -> dead; the receiver is fixed; a supervisor retries it over HTTP -> delivered', async t => {
  let fixed = false
  const { receiver, outbox, dispatcher, reaches } = await rig(t, () => fixed ? { status: 201 } : { status: 400, body: { error: 'unitPelayanan unknown' } })
  const app = await testApp({ outbox, dispatcher })
  t.teardown(() => app.close())
  const rec = makeRecord({ callId: 'c-400' })
  const other = makeRecord({ callId: 'c-ok', agentId: '1002' })
  await outbox.add(rec, 'c-400:transfer')
  dispatcher.start()
  await reaches(rec.id, 'dead')

  const list = await app.inject({ method: 'GET', url: '/v1/apkt/records?status=dead', headers: bearer(TOKENS.supervisor) })
  t.equal(list.statusCode, 200)
  const body = list.json()
  t.strictSame(body.records.map((r: { id: string }) => r.id), [rec.id])
  t.match(body.records[0], { status: 'dead', attempts: 1, callId: 'c-400', lastError: /HTTP 400.*unitPelayanan unknown/, record: { id: rec.id, permasalahan: 'ICONNET : TRANSFER CALL' } })
  t.match(body.stats, { dead: 1, pending: 0, delivered: 0 })

  fixed = true
  const retry = await app.inject({ method: 'POST', url: `/v1/apkt/records/${rec.id}/retry`, headers: bearer(TOKENS.supervisor) })
  t.equal(retry.statusCode, 200, retry.body)
  t.match(retry.json().record, { id: rec.id, status: 'pending', attempts: 1 })
  await reaches(rec.id, 'delivered', 5000)
  t.match(await outbox.get(rec.id), { attempts: 2 })
  t.equal(receiver.accepted.get(rec.id)?.callId, 'c-400')

  const again = await app.inject({ method: 'POST', url: `/v1/apkt/records/${rec.id}/retry`, headers: bearer(TOKENS.supervisor) })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { error: 'APKT_NOT_DEAD', message: /delivered/ })
  const unknown = await app.inject({ method: 'POST', url: '/v1/apkt/records/00000000-0000-4000-8000-000000000000/retry', headers: bearer(TOKENS.supervisor) })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.json(), { error: 'APKT_RECORD_NOT_FOUND' })

  await outbox.add(other, 'c-ok:transfer')
  dispatcher.kick()
  await reaches(other.id, 'delivered')
  const delivered = await app.inject({ method: 'GET', url: '/v1/apkt/records?status=delivered&limit=1', headers: bearer(TOKENS.supervisor) })
  t.strictSame(delivered.json().records.map((r: { id: string }) => r.id), [other.id], 'newest first, limited')
  const everything = await app.inject({ method: 'GET', url: '/v1/apkt/records', headers: bearer(TOKENS.supervisor) })
  t.equal(everything.json().records.length, 2)
})

t.test('the outbox routes are for supervisors only and refuse bad input', async t => {
  const { outbox } = await rig(t)
  const app = await testApp({ outbox })
  t.teardown(() => app.close())
  const get = (url: string, headers = {}) => app.inject({ method: 'GET', url, headers })
  t.equal((await get('/v1/apkt/records')).statusCode, 401)
  t.equal((await get('/v1/apkt/records', bearer(TOKENS.agent1001))).statusCode, 403)
  t.equal((await get('/v1/apkt/records', bearer(TOKENS.pbx))).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/v1/apkt/records/x/retry', headers: bearer(TOKENS.agent1001) })).statusCode, 403)
  const badStatus = await get('/v1/apkt/records?status=lost', bearer(TOKENS.supervisor))
  t.equal(badStatus.statusCode, 400)
  t.match(badStatus.json(), { error: 'BAD_REQUEST', message: /status/ })
  const unknownField = await get('/v1/apkt/records?stauts=dead', bearer(TOKENS.supervisor))
  t.equal(unknownField.statusCode, 400)
  t.match(unknownField.json(), { message: /stauts/ })
  t.equal((await get('/v1/apkt/records?limit=0', bearer(TOKENS.supervisor))).statusCode, 400)
  t.equal((await get('/v1/apkt/records?limit=5', bearer(TOKENS.supervisor))).statusCode, 200)
})

t.test('a record older than maxAgeMs goes dead with the reason, kept and visible', async t => {
  const { receiver, outbox, dispatcher, reaches } = await rig(t, () => ({ status: 503 }), { maxAgeMs: 400 })
  const ancient = makeRecord({ agentId: '1002' })
  await outbox.add(ancient, 'ancient', new Date(Date.now() - 2 * 24 * 3600_000))
  const rec = makeRecord()
  await outbox.add(rec, 'k')
  dispatcher.start()
  await reaches(rec.id, 'dead', 5000)
  await reaches(ancient.id, 'dead', 5000)
  t.match(await outbox.get(ancient.id), { attempts: 0, lastError: /^expired: not delivered within 400 ms/ })
  t.equal(receiver.countFor(ancient.id), 0, 'too old to send at all')
  const e = await outbox.get(rec.id)
  t.ok((e?.attempts ?? 0) >= 1, `tried ${e?.attempts} times first`)
  t.match(e?.lastError, /^expired: .*last error: HTTP 503/)
  t.equal((await outbox.list({ status: 'dead' })).length, 2)
  t.same(e?.record, rec, 'the record is kept whole')
})

t.test('concurrency limit holds, one record per agent at a time', async t => {
  const agentsInFlight: string[] = []
  let overlap = 0
  // What the dispatcher itself holds, seen at every request: the receiver's count alone
  // cannot tell, as the dispatcher's socket pool (one per slot) queues any extra request.
  let maxClaimed = 0
  let maxDelivering = 0
  const { receiver, outbox, dispatcher, settled } = await rig(t, req => {
    const mine = req.body.agentId
    const others = [...receiver.inflightKeys].filter(k => k !== req.key)
    if (others.some(k => receiver.received.find(r => r.key === k)?.body.agentId === mine)) overlap++
    agentsInFlight.push(mine)
    maxClaimed = Math.max(maxClaimed, outbox.claimedCount)
    maxDelivering = Math.max(maxDelivering, dispatcher.inFlightCount)
    return { status: 200, delayMs: 30 }
  }, { concurrency: 3, claimAhead: 0 }) // no claims ahead of the slots: claimed = delivering (the next test lets it claim ahead)
  await fillOutbox(outbox, Array.from({ length: 12 }, (_, i) => `a${i}`), 3)
  dispatcher.start()
  await eventually('all delivered', settled, 10_000)
  t.ok(receiver.maxInflight <= 3, `at most 3 in flight (saw ${receiver.maxInflight})`)
  t.ok(maxClaimed <= 3, `the dispatcher never held more than 3 records (saw ${maxClaimed})`)
  t.ok(maxDelivering <= 3, `nor had more than 3 deliveries going (saw ${maxDelivering})`)
  t.ok(receiver.maxInflight >= 2, `and more than one at a time (saw ${receiver.maxInflight})`)
  t.equal(overlap, 0, 'never two of one agent\'s records in flight together')
  t.equal(receiver.accepted.size, 36)
})

t.test('in a backlog, store calls wait settleGapMs for more results to settle together; order and once-each hold', async t => {
  // A receiver of 20 ms an answer, 2 slots: claimed records last long enough to wait.
  // Store calls counted with the gap and without it, on the same backlog: the gap is what
  // makes them fewer (each then settles more results in one commit).
  const storeCalls = async (settleGapMs: number): Promise<number> => {
    const { receiver, outbox, dispatcher, settled } = await rig(t, () => ({ status: 201, delayMs: 20 }), { concurrency: 2, claimAhead: 1000, settleGapMs, pollMs: 60_000 })
    const agents = Array.from({ length: 60 }, (_, i) => `g${settleGapMs}-${i}`)
    const made = await fillOutbox(outbox, agents, 2)
    let calls = 0
    const real = outbox.settleAndClaim.bind(outbox)
    outbox.settleAndClaim = async (results, now, limit) => { calls++; return await real(results, now, limit) }
    dispatcher.start()
    await eventually('all delivered', settled, 30_000)
    t.equal(receiver.accepted.size, 120, `gap ${settleGapMs} ms: every record delivered`)
    t.equal(receiver.received.length, 120, `gap ${settleGapMs} ms: each once`)
    const misordered = [...made].filter(([agent, ids]) => receiver.orderFor(agent).join() !== ids.join())
    t.equal(misordered.length, 0, `gap ${settleGapMs} ms: each agent's records in creation order`)
    return calls
  }
  const without = await storeCalls(0)
  const paced = await storeCalls(100)
  t.ok(paced * 2 <= without, `store calls: ${paced} with a 100 ms gap, ${without} without`)
})

t.test('two dispatchers on one store at once (the claims in the store guard it): each record sent once, never two of an agent at a time', async t => {
  let overlap = 0
  const { receiver, store, outbox, dispatcher, settled } = await rig(t, req => {
    const mine = req.body.agentId
    const others = [...receiver.inflightKeys].filter(k => k !== req.key)
    if (others.some(k => receiver.received.find(r => r.key === k)?.body.agentId === mine)) overlap++
    return { status: 200, delayMs: 30 }
  }, { concurrency: 2 })
  // The second instance: its own Outbox (owner) on the same store, its own dispatcher.
  const settledBy = new Map<string, string>()
  const second = new Dispatcher({
    outbox: openOutbox(store, { owner: 'instance-2' }),
    url: receiver.url,
    token: RECEIVER_TOKEN,
    timeoutMs: 500,
    concurrency: 2,
    pollMs: 20,
    backoff: { initialMs: 10, maxMs: 100 },
    onSettled: id => { settledBy.set(id, 'instance-2') }
  })
  t.teardown(async () => { await second.stop(1000) })
  const agents = Array.from({ length: 12 }, (_, i) => `a${i}`)
  const ids = await fillOutbox(outbox, agents, 3)
  dispatcher.start()
  second.start()
  await eventually('all delivered', settled, 10_000)
  const all = [...ids.values()].flat()
  t.equal(receiver.received.length, all.length, 'one request per record: no record was sent by both')
  t.equal(receiver.accepted.size, all.length)
  t.equal(overlap, 0, 'never two of one agent\'s records in flight together, across both instances')
  for (const [agent, list] of ids) t.strictSame(receiver.orderFor(agent), list, `agent ${agent} in creation order`)
  t.ok(settledBy.size > 0 && settledBy.size < all.length, `the work was shared (instance-2 delivered ${settledBy.size} of ${all.length})`)
})

t.test('a dispatcher that starts (an HA group\'s next active) delivers at once what a dead one had claimed, not after its claim lease', async t => {
  const { receiver, store, outbox, dispatcher, settled } = await rig(t)
  const ids = await fillOutbox(outbox, ['A', 'B'], 2)
  // The former active claimed both heads for 10 minutes and died before settling them.
  const former = openOutbox(store, { owner: 'former-active', leaseMs: 600_000 })
  t.equal((await former.claimDue(new Date(), 10)).length, 2, 'both agents\' heads held by the dead one')
  dispatcher.start()
  await eventually('all four delivered', settled, 5000)
    .catch(async () => { t.fail(`still pending 5 s after the start: ${JSON.stringify(await outbox.stats())}`) })
  for (const [agent, list] of ids) t.strictSame(receiver.orderFor(agent), list, `agent ${agent} in creation order`)
  t.equal(receiver.received.length, 4, 'each sent once')
})

t.test('stop() lets a delivery in flight finish', async t => {
  const { receiver, outbox, dispatcher } = await rig(t, () => ({ status: 200, delayMs: 300 }))
  const rec = makeRecord()
  await outbox.add(rec, 'k')
  dispatcher.start()
  await waitFor('in flight', () => receiver.inflight === 1)
  await dispatcher.stop(5000)
  t.equal((await outbox.get(rec.id))?.status, 'delivered', 'stop waited for the answer and recorded it')
  t.equal(dispatcher.inFlightCount, 0)
})

t.test('stop() past its timeout aborts; the record stays pending and goes on the next start', async t => {
  let hang = true
  const { receiver, store, outbox, dispatcher, reaches } = await rig(t, () => hang ? { status: 200, delayMs: 3000 } : { status: 200 })
  const rec = makeRecord()
  await outbox.add(rec, 'k')
  dispatcher.start()
  await waitFor('in flight', () => receiver.inflight === 1)
  await dispatcher.stop(100)
  t.equal(receiver.inflight, 1, 'stop() returned while the receiver still held the request: it did not wait for it')
  t.match(await outbox.get(rec.id), { status: 'pending', attempts: 0 }, 'abandoned, not failed')
  t.equal(outbox.claimedCount, 0, 'and not left claimed')
  // Not left claimed in the store either: another instance could take it at once.
  const other = openOutbox(store, { owner: 'another-instance' })
  t.strictSame((await other.claimDue(new Date(), 10)).map(e => e.id), [rec.id], 'the durable claim was given back')
  await other.release(rec.id)
  hang = false
  dispatcher.start()
  await reaches(rec.id, 'delivered', 5000)
})

t.test('a store that fails mid-run is logged and the dispatcher keeps going', async t => {
  const { outbox, receiver, reaches } = await rig(t)
  const lines: string[] = []
  const rec = makeRecord()
  await outbox.add(rec, 'k')
  const real = outbox.claimDue.bind(outbox)
  let broken = 2
  outbox.claimDue = async (now, limit) => { if (broken-- > 0) throw new Error('SQLITE_IOERR: disk I/O error'); return await real(now, limit) }
  const logged = new Dispatcher({ outbox, url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 500, pollMs: 20, log: { trace () {}, debug () {}, info () {}, warn () {}, error: (_o, m) => { lines.push(String(m)) } } })
  t.teardown(() => logged.stop())
  logged.start()
  await reaches(rec.id, 'delivered', 5000)
  t.equal(lines.filter(l => /cannot claim/.test(l)).length, 2)
})
