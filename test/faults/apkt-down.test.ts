// Fault: the APKT receiver is down for "minutes" while real calls on the sandbox keep
// producing records. Time is compressed: with a back-off cap of 300 ms, ~6 s of outage
// is the same number of retry rounds at the cap as ~10 minutes with the default 5 min
// cap would be hours; what matters is many failed rounds of every kind (connection
// refused, 503, a receiver that hangs past the timeout). Nothing may be lost, nothing
// may go dead, calls and transfers are not slowed by it, and the backlog drains once
// APKT is back, each record held exactly once (deduplicated by Idempotency-Key).
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { Receiver, RECEIVER_TOKEN } from '../helpers/apkt.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { startStack } from '../pbx/harness.ts'
import { sleep } from './lib.ts'

type Flow = { topic: 'activation' | 'disruption' | 'coverage' | 'billing' | 'none', permasalahan?: string }

const FLOWS: Flow[] = [
  { topic: 'activation', permasalahan: 'ICONNET : TRANSFER CALL' },
  { topic: 'coverage', permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH KOJA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' },
  { topic: 'none' }, // a call with no ICONNET inquiry: no record
  { topic: 'disruption', permasalahan: 'ICONNET : TRANSFER CALL' },
  { topic: 'billing', permasalahan: 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' },
  { topic: 'activation', permasalahan: 'ICONNET : TRANSFER CALL' },
  { topic: 'coverage', permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH KOJA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' }
]

t.test('APKT down for a long while: nothing lost, backlog drains once it is back', async t => {
  const receiver = await Receiver.start()
  t.teardown(() => receiver.stop())
  await receiver.down() // down before the first call; same port when it comes back
  const s = await startStack(t, raw => {
    raw.acw = { seconds: 1, mode: 'fixed' }
    raw.apkt = { url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 400, dispatcher: { pollMs: 50, concurrency: 2, backoff: { initialMs: 50, maxMs: 300 } } }
  })
  const stats = async (): Promise<{ pending: number, delivered: number, dead: number, oldestPendingAgeMs: number | null }> =>
    (await s.http('GET', '/v1/apkt/records?limit=100', TOKENS.supervisor)).body.stats

  // Real calls while APKT is down; every outcome answers at once.
  const expected = new Map<string, string>() // callId -> permasalahan
  const plain: string[] = []
  for (const [i, f] of FLOWS.entries()) {
    const c = await s.call(`08119400${String(i).padStart(2, '0')}`)
    if (f.topic === 'none') {
      plain.push(c.callId)
      await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
      continue
    }
    const body = f.topic === 'coverage'
      ? { topic: f.topic, customer: { name: 'Sari', salutation: 'Ibu' }, area: 'Koja' }
      : f.topic === 'billing'
        ? { topic: f.topic, customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: true }
        : { topic: f.topic, customer: { name: 'Budi', salutation: 'Bapak' } }
    const inq = await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, body)
    t.equal(inq.status, 200, `inquiry ${f.topic}`)
    if (f.topic === 'activation' || f.topic === 'disruption') {
      await s.http('POST', `/v1/calls/${c.callId}/consent`, c.token, { accepted: true })
      const press = await s.http('POST', `/v1/calls/${c.callId}/direct-transfer`, c.token, { target: 3 })
      t.equal(press.status, 200, `transfer while APKT is down: ${JSON.stringify(press.body)}`)
      const arrived = await waitFor('arrival', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === c.callId))
      await s.admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })
    } else {
      await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
    }
    await eventually('call finished', async () => ['ended', 'transferred'].includes(s.svc.tracker.get(c.callId)?.state ?? '') ? true : undefined)
    expected.set(c.callId, f.permasalahan as string)
  }
  await eventually('every outcome recorded', async () => (await stats()).pending === expected.size ? true : undefined, 5000)

  // Phase 1: connection refused. Phase 2: up but 503 with Retry-After 0, or hanging
  // past the 400 ms timeout. Many rounds each.
  await sleep(2500)
  await receiver.up()
  let n = 0
  receiver.behaviour = () => (n++ % 2 === 0 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200, delayMs: 600 })
  await sleep(3000)
  const during = await s.http('GET', '/v1/apkt/records?status=pending&limit=100', TOKENS.supervisor)
  const pending = during.body.records as Array<{ id: string, callId: string, agentId: string, attempts: number, lastError: string | null }>
  t.equal(pending.length, expected.size, `all ${expected.size} records still pending, none lost`)
  t.equal(during.body.stats.dead, 0, 'none given up on (dead)')
  t.equal(during.body.stats.delivered, 0, 'none marked delivered: the hanging 200s came after our timeout')
  // Per agent, in creation order: only the oldest pending record of each agent is tried;
  // the others wait behind it (and are not lost).
  const byAgent = new Map<string, typeof pending>()
  for (const r of [...pending].reverse()) byAgent.set(r.agentId, [...(byAgent.get(r.agentId) ?? []), r]) // newest first -> oldest first
  for (const [agentId, list] of byAgent) {
    const [head, ...rest] = list
    t.ok((head?.attempts ?? 0) >= 6, `agent ${agentId}: its oldest record retried many times (${head?.attempts ?? 0} attempts)`)
    t.ok(rest.every(r => r.attempts === 0), `agent ${agentId}: ${rest.length} later record(s) wait their turn`)
  }
  t.ok(pending.some(r => /ECONNREFUSED|503|no answer within/.test(r.lastError ?? '')), 'the last error is kept for the operator')
  t.ok((during.body.stats.oldestPendingAgeMs ?? 0) >= 5000, `oldest pending age is visible: ${during.body.stats.oldestPendingAgeMs as number} ms`)
  t.ok(receiver.received.length >= 8, `the receiver saw ${receiver.received.length} attempts while failing`)

  // APKT is back: the backlog drains.
  const backAt = Date.now()
  receiver.behaviour = () => ({ status: 201 })
  await eventually('backlog drained', async () => (await stats()).pending === 0 ? true : undefined, 10_000)
  t.comment(`drained ${expected.size} records in ${Date.now() - backAt} ms`)
  const final = await stats()
  t.match(final, { pending: 0, delivered: expected.size, dead: 0 })
  t.equal(receiver.accepted.size, expected.size, 'the receiver holds each record once (by Idempotency-Key)')
  for (const [callId, permasalahan] of expected) {
    const held = [...receiver.accepted.values()].filter(r => r.callId === callId)
    t.equal(held.length, 1, `one record for ${callId}`)
    t.equal(held[0]?.permasalahan, permasalahan)
  }
  for (const [agentId, list] of byAgent) t.strictSame(receiver.orderFor(agentId), list.map(r => r.id), `agent ${agentId}: delivered in creation order`)
  for (const callId of plain) t.notOk([...receiver.accepted.values()].some(r => r.callId === callId), 'none for the call without an ICONNET inquiry')
  t.ok(receiver.received.every(r => r.authorization === `Bearer ${RECEIVER_TOKEN}` && r.key === r.body.id), 'every attempt carried the token and the record id as Idempotency-Key')
})
