// ACW faults a real Asterisk cannot be made to produce on demand, through the real
// AmiClient and the real wiring (createService) against a FakeAmi whose FakeQueue keeps
// the members' pause state: our pause's confirmation and the agent's unpause in one TCP
// chunk, a PBX that refuses the unpause a few times while AMI stays up, a restart
// after which the agent is no longer in the config or the pause reason has changed, and
// an ACW that begins while the repair after a login is on its way (lists and answers held).
import t, { type Test } from 'tap'
import pino from 'pino'
import Database from 'better-sqlite3'
import { createService, type Service } from '../../src/service.ts'
import { FakeAmi, FakeQueue } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { HeldResync, watchRepair } from '../helpers/held-repair.ts'

const I1001 = 'Local/1001@agents/n'
const I1002 = 'Local/1002@agents/n'

interface Sent { iface: string, paused: boolean, reason: string, member: { paused: boolean, reason: string } | undefined, acw: string | undefined }

/** A FakeAmi with a FakeQueue that records every QueuePause with the member's state just before it. */
async function pbx (t: Test, acwState: () => (iface: string) => string | undefined): Promise<{ fake: FakeAmi, q: FakeQueue, sent: Sent[] }> {
  const q = new FakeQueue([I1001, I1002])
  const sent: Sent[] = []
  const fake = await FakeAmi.start({
    handler: (a, sock, f) => {
      if ((a.headers.action ?? '') === 'QueuePause') {
        const iface = a.headers.interface ?? ''
        const m = q.members.get(iface)
        sent.push({ iface, paused: a.headers.paused === 'true', reason: a.headers.reason ?? '', member: m === undefined ? undefined : { ...m }, acw: acwState()(iface) })
      }
      return q.handler(a, sock, f)
    }
  })
  t.teardown(async () => { await fake.stop() })
  return { fake, q, sent }
}

async function start (t: Test, fake: FakeAmi, edit: (raw: Record<string, any>) => void): Promise<Service> {
  const port = fake.port
  const listed = fake.actionsNamed('QueueStatus').length
  const svc = await createService(testConfig(port, raw => { raw.ami.actionTimeoutMs = 500; edit(raw) }), pino({ level: process.env.DBG ?? 'silent' }))
  t.teardown(async () => { await svc.stop() })
  await svc.start()
  await waitFor('AMI', () => svc.ami.ready)
  // The login's repair (a resync, then ACW re-applied) runs first: the tests start from
  // the pause picture it read.
  await waitFor('the resync after login', () => fake.actionsNamed('QueueStatus').length > listed ? true : undefined)
  return svc
}

/** A queue call answered by `agentId` and hung up: the agent goes into ACW. `beforeEnd` runs just before the hangup is posted. */
async function callEnds (svc: Service, callId: string, agentId: string, beforeEnd?: () => void): Promise<void> {
  for (const payload of [
    { type: 'call.offered', callId, data: { callerIdNum: '0811', customerChannel: `PJSIP/trunk-${callId}` } },
    { type: 'call.answered', callId, agentId, data: { agentChannel: `Local/${agentId}@agents-${callId};1` } },
    { type: 'call.ended', callId, data: { reason: 'caller hung up' } }
  ]) {
    if (payload.type === 'call.ended') beforeEnd?.()
    const r = await svc.app.inject({ method: 'POST', url: '/v1/cti/events', headers: { authorization: `Bearer ${TOKENS.pbx}` }, payload })
    if (r.statusCode !== 202) throw new Error(`${payload.type}: ${r.statusCode} ${r.body}`)
  }
}

/** The ACW state of the agent behind an interface, as the running service sees it. */
const stateIn = (svc: () => Service | undefined) => () => (iface: string): string | undefined => {
  const s = svc()
  const agent = iface === I1001 ? '1001' : '1002'
  return s?.store.open === true ? s.acw.entry(agent)?.state : undefined
}

t.test('our pause confirmed and the agent unpaused in ONE TCP chunk: the pause goes back on until the deadline', async t => {
  let svc: Service | undefined
  const { fake, q, sent } = await pbx(t, stateIn(() => svc))
  let first = true
  q.decide = (_iface, paused) => {
    // The agent presses "unpause" on the phone the moment our pause lands: Asterisk
    // writes our confirmation and the unpause in the same socket write.
    if (paused && first) { first = false; return { then: { paused: false, reason: '' } } }
    return undefined
  }
  svc = await start(t, fake, raw => { raw.acw = { seconds: 2, mode: 'fixed' } })
  await callEnds(svc, 'c1', '1001')
  const unpause = await waitFor('the unpause at the deadline', () => sent.find(s => !s.paused)).catch((err: unknown) => { console.error(JSON.stringify(sent)); throw err })
  const pauses = sent.filter(s => s.paused)
  t.equal(pauses.length, 2, 'the unpause seen with our confirmation is undone: QueuePause(true) sent again')
  t.same(pauses[1], { iface: I1001, paused: true, reason: 'ACW', member: { paused: false, reason: '' }, acw: 'active' }, 'while ACW runs')
  t.same(unpause.member, { paused: true, reason: 'ACW' }, 'the agent was paused (ACW) when the deadline came')
  t.equal(unpause.acw, 'ending', 'and unpaused by the deadline, not earlier')
  await waitFor('ACW over', () => svc?.acw.entry('1001') === undefined ? true : undefined)
  t.same(q.members.get(I1001), { paused: false, reason: '' }, 'free again after ACW')
})

t.test('the unpause refused (retries exhausted) while AMI stays up: retried later with back-off until it takes', async t => {
  let svc: Service | undefined
  const { fake, q, sent } = await pbx(t, stateIn(() => svc))
  let refusals = 3
  q.decide = (_iface, paused) => !paused && refusals-- > 0 ? { refuse: 'Interface busy' } : undefined
  svc = await start(t, fake, raw => { raw.acw = { seconds: 1, mode: 'fixed', pauseRetries: 0 } })
  await callEnds(svc, 'c1', '1001')
  await waitFor('ACW over', () => svc?.acw.entry('1001') === undefined && sent.some(s => !s.paused) ? true : undefined).catch((err: unknown) => { console.error(JSON.stringify({ sent, entry: svc?.acw.entry('1001') })); throw err })
  t.equal(sent.filter(s => !s.paused).length, 4, 'three refusals, then the fourth unpause took')
  t.same(q.members.get(I1001), { paused: false, reason: '' }, 'the agent is not left paused')
  t.equal(svc.ami.status().connects, 1, 'with AMI up all along (no reconnect did it)')
})

t.test('restart with the agent removed from the config: its ACW still ends at the deadline on the recorded interface', async t => {
  let svc: Service | undefined
  const { fake, q, sent } = await pbx(t, stateIn(() => svc))
  const first = await start(t, fake, raw => { raw.acw = { seconds: 3, mode: 'fixed' } })
  svc = first
  await callEnds(first, 'c1', '1002')
  const endsAt = await waitFor('ACW', () => first.acw.endsAt('1002'))
  await waitFor('paused', () => q.members.get(I1002)?.paused)
  await first.stop()
  svc = undefined

  const second = await start(t, fake, raw => {
    raw.store.path = first.config.store.path
    raw.acw = { seconds: 3, mode: 'fixed' }
    raw.agents = raw.agents.filter((a: { id: string }) => a.id !== '1002')
    raw.auth.tokens = raw.auth.tokens.filter((k: { agent?: string }) => k.agent !== '1002')
  })
  const sentBefore = sent.length
  t.equal(second.acw.entry('1002')?.endsAt, endsAt, 'the old ACW is still known')
  await waitFor('unpaused', () => sent.slice(sentBefore).find(s => s.iface === I1002 && !s.paused), 10_000)
  t.ok(Date.now() >= Date.parse(endsAt) - 50, 'at its deadline (wall clock across the restart; 50 ms for timer granularity)')
  t.same(q.members.get(I1002), { paused: false, reason: '' }, 'the removed agent is not left paused')
  await waitFor('forgotten', () => second.acw.entry('1002') === undefined ? true : undefined)
  t.same(sent.slice(sentBefore).filter(s => s.iface === I1002).map(s => s.paused), [false], 'never re-paused by the new instance')
})

t.test('restart with a changed acw.pauseReason: the ACW paused under the old reason is ours and is unpaused', async t => {
  let svc: Service | undefined
  const { fake, q } = await pbx(t, stateIn(() => svc))
  const first = await start(t, fake, raw => { raw.acw = { seconds: 3, mode: 'fixed', pauseReason: 'ACW' } })
  svc = first
  await callEnds(first, 'c1', '1001')
  await waitFor('paused', () => q.members.get(I1001)?.paused)
  await first.stop()

  const second = await start(t, fake, raw => {
    raw.store.path = first.config.store.path
    raw.acw = { seconds: 3, mode: 'fixed', pauseReason: 'Wrapup' }
  })
  svc = second
  await waitFor('resynced', () => second.tracker.agentStatus('1001')?.pausedReason === 'ACW' ? true : undefined)
  await waitFor('ACW over', () => second.acw.entry('1001') === undefined ? true : undefined, 10_000)
  t.same(q.members.get(I1001), { paused: false, reason: '' }, 'unpaused, not mistaken for somebody else\'s pause')
})

/**
 * The repair after a login (a resync, then ACW re-applied) and a call ending meanwhile.
 * Held: the resync's CoreShowChannels until ACW has begun (QueueStatus is answered at
 * once, from before ACW's pause), and then, by `hold`: the QueuePause's answer until the
 * re-apply is over ('pause'), nothing ('none': the pause is confirmed before the lists
 * are in), or the store's commit of the ACW, by a write lock of another connection on
 * the database, until the re-apply is over ('commit'). Returns every QueuePause sent,
 * with whether ACW's commit was still held back then.
 */
async function acwDuringRepair (t: Test, hold: 'pause' | 'none' | 'commit'): Promise<{ svc: Service, pausesSent: Array<{ paused: boolean, uncommitted: boolean }> }> {
  const q = new FakeQueue([I1001, I1002])
  let uncommitted = false
  const heldPauses: Array<() => void> = []
  const pausesSent: Array<{ paused: boolean, uncommitted: boolean }> = []
  const lists = new HeldResync((a, sock, f) => {
    if ((a.headers.action ?? '').toLowerCase() === 'queuepause') {
      pausesSent.push({ paused: a.headers.paused === 'true', uncommitted })
      if (hold === 'pause') { heldPauses.push(() => q.handler(a, sock, f)); return true }
    }
    return q.handler(a, sock, f)
  })
  const fake = await FakeAmi.start({ handler: lists.handler })
  t.teardown(async () => { await fake.stop() })
  const svc = await createService(testConfig(fake.port, raw => { raw.ami.actionTimeoutMs = 3000; raw.acw = { seconds: 30, mode: 'fixed' } }), pino({ level: process.env.DBG ?? 'silent' }))
  t.teardown(async () => { await svc.stop() })
  const repaired = watchRepair(svc)
  await svc.start()
  await lists.asked()

  const lock = hold === 'commit' ? new Database(svc.config.store.path) : undefined
  const ended = callEnds(svc, 'c1', '1001', () => { if (lock !== undefined) { lock.exec('BEGIN IMMEDIATE'); uncommitted = true } })
  if (hold === 'commit') await waitFor('ACW begun (not committed)', () => svc.acw.entry('1001'))
  else await ended
  if (hold === 'pause') await waitFor('ACW\'s QueuePause', () => pausesSent.length > 0 ? true : undefined)
  if (hold === 'none') await waitFor('its pause seen', () => svc.tracker.agentStatus('1001')?.paused)
  lists.release()
  await waitFor('the re-apply over (or a second QueuePause)', () => repaired() || pausesSent.length > (hold === 'commit' ? 0 : 1) ? true : undefined)
  if (lock !== undefined) { lock.exec('COMMIT'); uncommitted = false; lock.close() }
  await ended
  for (const answer of heldPauses.splice(0)) answer()
  await waitFor('paused', () => q.members.get(I1001)?.paused)
  return { svc, pausesSent }
}

t.test('an ACW begun during the login\'s repair, its QueuePause under way: the re-apply does not send a second', async t => {
  const { svc, pausesSent } = await acwDuringRepair(t, 'pause')
  t.same(pausesSent.map(p => p.paused), [true], 'one QueuePause')
  t.equal(svc.acw.entry('1001')?.state, 'active', 'ACW runs')
})

t.test('an ACW begun during the login\'s repair, its pause confirmed: the resync\'s older member list does not undo it', async t => {
  const { svc, pausesSent } = await acwDuringRepair(t, 'none')
  t.same(pausesSent.map(p => p.paused), [true], 'one QueuePause: the re-apply saw the agent paused')
  t.match(svc.tracker.agentStatus('1001'), { paused: true, pausedReason: 'ACW' }, 'the picture keeps the pause that came after the list')
  t.equal(svc.acw.entry('1001')?.state, 'active', 'ACW runs')
})

t.test('an ACW begun during the login\'s repair, not committed yet: the re-apply leaves its pause to the step after the commit', async t => {
  const { svc, pausesSent } = await acwDuringRepair(t, 'commit')
  t.same(pausesSent, [{ paused: true, uncommitted: false }], 'one QueuePause, once the deadline was durable')
  t.equal(svc.acw.entry('1001')?.state, 'active', 'ACW runs')
})
