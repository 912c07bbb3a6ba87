// The HA group on the real parts (issue 14; CONTRACT.md section 6): two service processes
// (src/server.ts) with the same config but their own ha.instanceId, one real PostgreSQL,
// the Asterisk sandbox and a real APKT receiver that deduplicates by Idempotency-Key.
//
// 1. SIGKILL the active while (a) a call is connected with its topic and consent recorded
//    (through the standby: forwarded), (c) the other agent is in ACW, (d) an APKT record
//    is pending, retried while the receiver was down, and claimed by the active mid-POST
//    (the receiver back but not answering in time). The standby takes over within
//    leaseMs + 3 s; the transfer pressed on it sends exactly one BlindTransfer; the agent
//    in ACW is unpaused at the original deadline, not before and not much after; once the
//    receiver answers, each record is held exactly once, and soon: the dead active's
//    claim is dropped at the takeover, not left to its lease (30 s).
// 2. SIGSTOP the new active longer than the lease: the other (restarted) instance takes
//    over; the frozen one, resumed, finds its lease gone and serves as a standby. (b) A
//    transfer pressed through that standby kills the active right after Asterisk did it
//    (failpoint transfer:sent): the standby takes over and settles the call as transferred
//    by the unknown-outcome rule; a second press is refused; one BlindTransfer, one record.
// 3. PostgreSQL crashes (pg_ctl stop -m immediate) with a call classified and an agent in
//    ACW, and comes back: the group recovers by itself (one active), the transfer goes
//    through once, the agent is freed, not before its deadline, and no record is lost.
// One sandbox, one cluster, one pair of processes for all parts: npm test is near its
// 20-minute limit and each process start costs seconds.
import t from 'tap'
import type { AmiEvent } from '../../src/ami/index.ts'
import { Receiver, RECEIVER_TOKEN } from '../helpers/apkt.ts'
import { eventually } from '../helpers/ami.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { needPostgres, queryOnce } from '../helpers/postgres.ts'
import { http, sleep, spawnService, stopProc, writeConfig, type Proc } from '../faults/lib.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from './fixture.ts'
import { freePort } from './sandbox.ts'

const LEASE_MS = 2000
const ACW_SECONDS = 10 // outlasts the takeover (lease expiry + the survivor building its service) with room
const agentToken = (id: string): string => id === '1001' ? TOKENS.agent1001 : TOKENS.agent1002

t.setTimeout(180_000)

t.test('HA group: the active killed mid-call, mid-ACW, with APKT pending; then frozen', async t => {
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const db = await cluster.createDatabase()
  t.teardown(db.drop)
  const sb = await startSandbox(t)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const pbx: AmiEvent[] = []
  admin.on('event', e => pbx.push(e))
  const receiver = await Receiver.start()
  t.teardown(async () => { await receiver.stop() })
  await receiver.down() // records stay pending until part 1 brings it back

  const ports = { 'cti-a': await freePort(), 'cti-b': await freePort() }
  const files = Object.fromEntries(Object.entries(ports).map(([id, port]) => {
    const raw = baseRawConfig(sb.amiPort)
    raw.http.port = port
    raw.log.level = 'info'
    raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' }
    raw.apkt = { url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 2000, dispatcher: { pollMs: 100, backoff: { initialMs: 100, maxMs: 500 } } }
    return [id, writeConfig(raw)]
  })) as Record<keyof typeof ports, string>
  const base = (id: keyof typeof ports): string => `http://127.0.0.1:${ports[id]}`
  const procs: Proc[] = []
  t.teardown(async () => { for (const p of procs) { try { process.kill(p.pid, 'SIGCONT') } catch {} await stopProc(p) } })
  const start = (id: keyof typeof ports, failpoints?: string): Proc => {
    const p = spawnService({
      configFile: files[id],
      ...(failpoints !== undefined ? { failpoints } : {}),
      env: { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url, CTI_HA_INSTANCE_ID: id, CTI_HA_ADVERTISE_URL: base(id), CTI_HA_LEASE_MS: String(LEASE_MS) }
    })
    procs.push(p)
    return p
  }
  const role = async (id: keyof typeof ports): Promise<string | undefined> => {
    const r = await http(base(id), 'GET', '/readyz', undefined, undefined, 1000).catch(() => undefined)
    return r?.status === 200 ? r.body.role : undefined
  }
  const paused = async (agentId: string): Promise<boolean> => {
    const q = await admin.list('QueueStatus', { Queue: 'pln123' })
    return q.items.some(i => i.event === 'QueueMember' && i.fields.location === `Local/${agentId}@agents/n` && i.fields.paused === '1')
  }
  const connect = async (caller: string): Promise<{ callId: string, agentId: string }> => {
    await placeCall(admin, caller)
    const ac = await eventually(`${caller} at an agent`, async () => pbx.find(e => e.event === 'AgentConnect' && e.fields.calleridnum === caller), 15_000)
    return { callId: ac.fields.linkedid ?? '', agentId: /Local\/(\d+)@/.exec(ac.fields.interface ?? '')?.[1] as string }
  }
  const customerChannel = async (caller: string): Promise<string> => await eventually('customer channel', async () => {
    const ch = await admin.list('CoreShowChannels')
    return ch.items.find(i => i.fields.calleridnum === caller && /^Local\/s@caller-.*;1$/.test(i.fields.channel ?? ''))?.fields.channel
  })

  const a = start('cti-a')
  await eventually('cti-a active', async () => (await role('cti-a')) === 'active' ? true : undefined, 30_000)
  await eventually('cti-a resynced', async () => a.lines().some(l => l.msg === 'call state resynced from Asterisk') ? true : undefined)
  start('cti-b')
  await eventually('cti-b standby', async () => (await role('cti-b')) === 'standby' ? true : undefined, 30_000)
  const status = await http(base('cti-a'), 'GET', '/v1/status', TOKENS.supervisor)
  t.same((status.body.instances as Array<{ id: string }>).map(i => i.id).sort(), ['cti-a', 'cti-b'], 'GET /v1/status lists the group')

  // Part 1.
  const call1 = await connect('0811970001')
  await eventually('call 1 known', async () => (await http(base('cti-b'), 'GET', `/v1/calls/${call1.callId}`, TOKENS.supervisor)).body.state === 'connected' ? true : undefined)
  const inq = await http(base('cti-b'), 'POST', `/v1/calls/${call1.callId}/inquiry`, agentToken(call1.agentId), { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  t.equal(inq.status, 200, `the topic recorded through the standby: ${JSON.stringify(inq.body)}`)
  const consent = await http(base('cti-b'), 'POST', `/v1/calls/${call1.callId}/consent`, agentToken(call1.agentId), { accepted: true })
  t.equal(consent.status, 200, `the consent recorded through the standby: ${JSON.stringify(consent.body)}`)

  const call2 = await connect('0811970002')
  t.not(call2.agentId, call1.agentId, 'the second call at the other agent')
  await eventually('call 2 known', async () => (await http(base('cti-a'), 'GET', `/v1/calls/${call2.callId}`, TOKENS.supervisor)).body.state === 'connected' ? true : undefined)
  const inq2 = await http(base('cti-a'), 'POST', `/v1/calls/${call2.callId}/inquiry`, agentToken(call2.agentId), { topic: 'billing', customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: false })
  t.equal(inq2.status, 200)
  await admin.action('Hangup', { Channel: await customerChannel('0811970002') })
  const acwEndsAt = await eventually('call 2 agent in ACW', async () => {
    const v = await http(base('cti-a'), 'GET', `/v1/agents/${call2.agentId}`, TOKENS.supervisor)
    return v.body.state === 'acw' && typeof v.body.acwEndsAt === 'string' ? Date.parse(v.body.acwEndsAt) : undefined
  })
  await eventually('paused for ACW', async () => await paused(call2.agentId) ? true : undefined)
  await eventually('the billing record pending', async () => {
    const r = await http(base('cti-a'), 'GET', '/v1/apkt/records?status=pending', TOKENS.supervisor)
    return (r.body.records as Array<{ callId: string }>).some(x => x.callId === call2.callId) ? true : undefined
  })
  // The receiver back, but answering only after the dispatcher gave up (timeoutMs 2000):
  // the active is killed within its POST of the billing record, so it dies holding the claim.
  let answering = false
  let billingPostAt = 0
  receiver.behaviour = req => {
    if (req.body.callId === call2.callId) billingPostAt = Date.now()
    return answering ? { status: 201 } : { status: 503, delayMs: 5000 }
  }
  await receiver.up()
  await eventually('the active posting the billing record', async () => Date.now() - billingPostAt < 300 ? true : undefined, 5000)

  const killedAt = Date.now()
  await stopProc(a, 'SIGKILL')
  const [claim] = await queryOnce<{ claimed_by: string | null }>(db.url, 'SELECT claimed_by FROM apkt_records WHERE call_id = $1', [call2.callId])
  t.equal(claim?.claimed_by, 'cti-a', 'the billing record claimed by the killed active')
  await eventually('cti-b takes over', async () => (await role('cti-b')) === 'active' ? true : undefined, LEASE_MS + 10_000)
  const takeoverMs = Date.now() - killedAt
  t.ok(takeoverMs <= LEASE_MS + 3000, `takeover in ${takeoverMs} ms (leaseMs ${LEASE_MS} + 3 s at most)`)

  const view1 = await eventually('call 1 on the survivor', async () => {
    const r = await http(base('cti-b'), 'GET', `/v1/calls/${call1.callId}`, TOKENS.supervisor)
    return r.status === 200 ? r.body : undefined
  })
  t.match(view1, { state: 'connected', topic: 'activation', consent: { accepted: true } }, 'the call kept its topic and consent')
  const press = await http(base('cti-b'), 'POST', `/v1/calls/${call1.callId}/direct-transfer`, agentToken(call1.agentId), { target: 3 })
  t.equal(press.status, 200, `the transfer pressed on the survivor: ${JSON.stringify(press.body)}`)
  const arrived = await eventually('customer 1 at ICONNET', async () => pbx.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === call1.callId))
  t.equal(pbx.filter(e => e.event === 'BlindTransfer' && e.fields.transfereelinkedid === call1.callId).length, 1, 'one BlindTransfer')

  const freedAt = await eventually('agent of call 2 unpaused', async () => (await paused(call2.agentId)) ? undefined : Date.now(), ACW_SECONDS * 1000 + 10_000)
  t.ok(freedAt >= acwEndsAt - 150, `not unpaused before the original deadline (${freedAt - acwEndsAt} ms after it)`)
  t.ok(freedAt <= acwEndsAt + 3000, `not left paused after it (${freedAt - acwEndsAt} ms after it)`)

  answering = true
  const answeredFrom = receiver.received.length // the requests before were answered 503
  const byCall = async (): Promise<Map<string, number>> => {
    const n = new Map<string, number>()
    for (const rec of receiver.accepted.values()) n.set(rec.callId, (n.get(rec.callId) ?? 0) + 1)
    return n
  }
  // Within a timed-out POST (2 s) and the back-off (500 ms) of the receiver answering; the
  // dead active's claim, left to its lease, held the billing record 30 s from the kill.
  await eventually('both records delivered', async () => { const n = await byCall(); return n.has(call1.callId) && n.has(call2.callId) ? true : undefined }, 8000)
  await sleep(1000) // a second delivery, if any, would come within the dispatcher's back-off
  const held = await byCall()
  t.equal(held.get(call1.callId), 1, 'the transfer record held once')
  t.equal(held.get(call2.callId), 1, 'the billing record held once')
  t.equal(receiver.received.slice(answeredFrom).filter(r => r.body.callId === call1.callId || r.body.callId === call2.callId).length - 2, receiver.duplicates, 'every extra request was a duplicate the receiver absorbed')
  await admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })

  // Part 2: cti-a comes back as a standby; the active (cti-b) freezes longer than its lease.
  const a2 = start('cti-a', 'transfer:sent')
  await eventually('cti-a back as standby', async () => (await role('cti-a')) === 'standby' ? true : undefined, 30_000)
  const b = procs[1] as Proc
  process.kill(b.pid, 'SIGSTOP')
  const frozenAt = Date.now()
  await eventually('cti-a takes over from the frozen one', async () => (await role('cti-a')) === 'active' ? true : undefined, LEASE_MS + 10_000)
  t.ok(Date.now() - frozenAt <= LEASE_MS + 3000, `takeover from a frozen active in ${Date.now() - frozenAt} ms`)
  process.kill(b.pid, 'SIGCONT')
  await eventually('the resumed one serves as a standby', async () => (await role('cti-b')) === 'standby' ? true : undefined, 15_000)
  t.equal(await role('cti-a'), 'active', 'one active')
  await eventually('cti-a resynced', async () => a2.lines().some(l => l.msg === 'call state resynced from Asterisk') ? true : undefined)

  // (b) A transfer in flight when the active dies, pressed through the resumed standby.
  const call3 = await connect('0811970003')
  await eventually('call 3 known', async () => (await http(base('cti-b'), 'GET', `/v1/calls/${call3.callId}`, TOKENS.supervisor)).body.state === 'connected' ? true : undefined)
  await http(base('cti-b'), 'POST', `/v1/calls/${call3.callId}/inquiry`, agentToken(call3.agentId), { topic: 'disruption', customer: { name: 'Adi', salutation: 'Bapak' } })
  await http(base('cti-b'), 'POST', `/v1/calls/${call3.callId}/consent`, agentToken(call3.agentId), { accepted: true })
  const press3 = await http(base('cti-b'), 'POST', `/v1/calls/${call3.callId}/direct-transfer`, agentToken(call3.agentId), { target: 3 })
  t.match(press3, { status: 503, body: { error: 'NO_ACTIVE' } }, `the active died under the press, forwarded by the standby: ${press3.status} ${JSON.stringify(press3.body)}`)
  t.equal((await a2.exit).signal, 'SIGKILL', 'killed at its failpoint')
  t.match(a2.out(), 'failpoint transfer:sent')
  await eventually('cti-b takes over from the one that died mid-transfer', async () => (await role('cti-b')) === 'active' ? true : undefined, LEASE_MS + 10_000)
  const view3 = await eventually('call 3 settled', async () => {
    const r = await http(base('cti-b'), 'GET', `/v1/calls/${call3.callId}`, TOKENS.supervisor)
    return r.status === 200 && r.body.state !== 'transferring' && r.body.state !== 'connected' ? r.body : undefined
  }, 10_000)
  t.match(view3, { state: 'transferred', transfer: { status: 'completed' } }, 'Asterisk did it: transferred')
  const again3 = await http(base('cti-b'), 'POST', `/v1/calls/${call3.callId}/direct-transfer`, agentToken(call3.agentId), { target: 3 })
  t.match(again3, { status: 409, body: { error: 'ALREADY_TRANSFERRED' } }, 'a second press is refused')
  const arrived3 = await eventually('customer 3 at ICONNET', async () => pbx.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === call3.callId))
  t.equal(pbx.filter(e => e.event === 'BlindTransfer' && e.fields.transfereelinkedid === call3.callId).length, 1, 'one BlindTransfer')
  await eventually('its record held', async () => [...receiver.accepted.values()].some(r => r.callId === call3.callId) ? true : undefined, 10_000)
  await sleep(500)
  t.equal([...receiver.accepted.values()].filter(r => r.callId === call3.callId).length, 1, 'one record')
  await admin.action('Hangup', { Channel: arrived3.fields.channel ?? '' })

  // Part 3: the database crashes under the group (cti-b, alone now) and comes back.
  const active = async (): Promise<keyof typeof ports | undefined> => {
    for (const id of Object.keys(ports) as Array<keyof typeof ports>) if (await role(id) === 'active') return id
    return undefined
  }
  const call4 = await connect('0811970004')
  await eventually('call 4 known', async () => (await http(base('cti-b'), 'GET', `/v1/calls/${call4.callId}`, TOKENS.supervisor)).body.state === 'connected' ? true : undefined)
  t.equal((await http(base('cti-b'), 'POST', `/v1/calls/${call4.callId}/inquiry`, agentToken(call4.agentId), { topic: 'activation', customer: { name: 'Eko', salutation: 'Bapak' } })).status, 200)
  t.equal((await http(base('cti-b'), 'POST', `/v1/calls/${call4.callId}/consent`, agentToken(call4.agentId), { accepted: true })).status, 200)
  const call5 = await connect('0811970005')
  await eventually('call 5 known', async () => (await http(base('cti-b'), 'GET', `/v1/calls/${call5.callId}`, TOKENS.supervisor)).body.state === 'connected' ? true : undefined)
  t.equal((await http(base('cti-b'), 'POST', `/v1/calls/${call5.callId}/inquiry`, agentToken(call5.agentId), { topic: 'billing', customer: { name: 'Dewi', salutation: 'Ibu' }, subscribedViaPlnMobile: true })).status, 200)
  await admin.action('Hangup', { Channel: await customerChannel('0811970005') })
  const acw5EndsAt = await eventually('call 5 agent in ACW', async () => {
    const v = await http(base('cti-b'), 'GET', `/v1/agents/${call5.agentId}`, TOKENS.supervisor)
    return v.body.state === 'acw' && typeof v.body.acwEndsAt === 'string' ? Date.parse(v.body.acwEndsAt) : undefined
  })
  await cluster.stop('immediate')
  await sleep(LEASE_MS + 1000) // every instance's lease has run out by its own clock
  await cluster.start()
  const recovered = await eventually('an active again', active, 30_000)
  t.pass(`the group recovered by itself: ${recovered} active`)
  const press4 = await eventually('the transfer pressed after the crash', async () => {
    const r = await http(base('cti-b'), 'POST', `/v1/calls/${call4.callId}/direct-transfer`, agentToken(call4.agentId), { target: 3 })
    return r.status === 503 || r.status === 0 ? undefined : r
  }, 20_000)
  t.equal(press4.status, 200, `the transfer after the crash: ${JSON.stringify(press4.body)}`)
  const arrived4 = await eventually('customer 4 at ICONNET', async () => pbx.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === call4.callId))
  t.equal(pbx.filter(e => e.event === 'BlindTransfer' && e.fields.transfereelinkedid === call4.callId).length, 1, 'one BlindTransfer')
  const freed5 = await eventually('agent of call 5 unpaused', async () => (await paused(call5.agentId)) ? undefined : Date.now(), ACW_SECONDS * 1000 + 20_000)
  t.ok(freed5 >= acw5EndsAt - 150, `not unpaused before its deadline (${freed5 - acw5EndsAt} ms after it)`)
  await eventually('every agent ready', async () => {
    const agents = (await http(base('cti-b'), 'GET', '/v1/agents', TOKENS.supervisor)).body as Array<{ state: string }>
    return Array.isArray(agents) && agents.every(a => a.state === 'ready') ? true : undefined
  }, 10_000)
  t.pass('no agent stuck')
  await eventually('both records held', async () => { const n = await byCall(); return n.has(call4.callId) && n.has(call5.callId) ? true : undefined }, 15_000)
  const held3 = await byCall()
  t.same([held3.get(call4.callId), held3.get(call5.callId)], [1, 1], 'each record held once')
  await admin.action('Hangup', { Channel: arrived4.fields.channel ?? '' })
})
