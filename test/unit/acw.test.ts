// The ACW state machine with a fake clock and a fake PBX that answers like
// app_queue (a QueueMemberPause per change), or not at all when told to.
import t from 'tap'
import { AcwService, type AcwDeps } from '../../src/acw/service.ts'
import { acwSeconds, type AcwEntry, type AcwSettings } from '../../src/acw/types.ts'
import type { AuditEntry } from '../../src/audit/log.ts'
import { RecordingLog } from '../helpers/ami.ts'
import { FakeClock, MemRepo, settle } from '../helpers/acw-fakes.ts'

interface Harness {
  acw: AcwService
  clock: FakeClock
  repo: MemRepo
  log: RecordingLog
  audit: AuditEntry[]
  sent: Array<{ iface: string, paused: boolean, reason: string }>
  pause: Map<string, { paused: boolean, reason: string }>
  pbx: { answer: boolean, down: boolean }
}

function harness (settings: Partial<AcwSettings> = {}, repo = new MemRepo(), clock = new FakeClock()): Harness {
  const sent: Harness['sent'] = []
  const pause = new Map<string, { paused: boolean, reason: string }>()
  const pbx = { answer: true, down: false }
  const audit: AuditEntry[] = []
  const log = new RecordingLog()
  const agents = [{ id: '1001', interface: 'PJSIP/1001' }, { id: '1002', interface: 'PJSIP/1002' }]
  const byIface = new Map(agents.map(a => [a.interface, a.id]))
  const onCall = new Set<string>()
  const deps: AcwDeps = {
    repo,
    clock,
    log,
    audit: { record: e => audit.push(e) },
    agents,
    settings: { seconds: 30, mode: 'fixed', perQueue: {}, perAgent: {}, pauseReason: 'ACW', pauseRetries: 2, ...settings },
    pauseOf: id => pause.get(id),
    onCall: id => onCall.has(id),
    confirmTimeoutMs: 1000,
    // The back-off's jitter fixed at its middle: the retry tests count tries by a given
    // time, which a random draw could push past it (seen once in a fresh-clone run).
    retry: { initialMs: 1000, maxMs: 60_000, random: () => 0.5 },
    pbx: {
      async setPaused (iface, paused, reason) {
        if (pbx.down) throw Object.assign(new Error('AMI is disconnected'), { code: 'AMI_UNAVAILABLE' })
        sent.push({ iface, paused, reason })
        if (!pbx.answer) return
        const id = byIface.get(iface) as string
        const r = paused ? reason : ''
        pause.set(id, { paused, reason: r })
        queueMicrotask(() => acw.onPauseEvent(id, paused, r))
      }
    }
  }
  const acw = new AcwService(deps)
  return { acw, clock, repo, log, audit, sent, pause, pbx }
}

const supervisor = { name: 'spv', role: 'supervisor' }

t.test('ACW length: agent setting wins over queue, queue over default', async t => {
  const s: AcwSettings = { seconds: 30, mode: 'fixed', perQueue: { pln123: 45 }, perAgent: { 1001: 10 }, pauseReason: 'ACW', pauseRetries: 3 }
  t.equal(acwSeconds(s, '1001', 'pln123'), 10)
  t.equal(acwSeconds(s, '1002', 'pln123'), 45)
  t.equal(acwSeconds(s, '1002', 'other'), 30)
  t.equal(acwSeconds(s, '1002'), 30, 'a call outside the queue')
})

t.test('a call end: deadline stored, member paused with reason ACW, unpaused at the deadline', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'call-1', 'pln123', 'caller hung up')
  t.equal(h.repo.get('1001')?.state, 'active')
  t.equal(h.repo.get('1001')?.endsAt, '2026-11-24T03:00:30.000Z')
  t.equal(h.acw.endsAt('1001'), '2026-11-24T03:00:30.000Z')
  await h.clock.advance(0)
  t.same(h.sent, [{ iface: 'PJSIP/1001', paused: true, reason: 'ACW' }], 'paused in every queue (no Queue header) with reason ACW')
  await h.clock.advance(29_999)
  t.equal(h.sent.length, 1, 'still in ACW a millisecond before the deadline')
  await h.clock.advance(1)
  t.same(h.sent[1], { iface: 'PJSIP/1001', paused: false, reason: 'ACW' })
  t.equal(h.repo.get('1001'), undefined, 'forgotten once the unpause is confirmed')
  t.equal(h.acw.endsAt('1001'), undefined)
})

t.test('zero seconds: no ACW at all', async t => {
  const h = harness({ perAgent: { 1001: 0 } })
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(0)
  t.equal(h.sent.length, 0)
  t.equal(h.repo.get('1001'), undefined)
})

t.test('mode fixed: no early exit; a supervisor can still end it', async t => {
  const h = harness({ mode: 'fixed' })
  h.acw.onReleased('1001', 'c', 'pln123', 'transferred')
  await h.clock.advance(0)
  await t.rejects(h.acw.complete('1001', { name: 'agent-1001', role: 'agent' }), { code: 'ACW_FIXED' })
  t.equal(h.repo.get('1001')?.state, 'active', 'ACW unchanged')
  await h.acw.supervise('1001', supervisor, { end: true })
  t.equal(h.repo.get('1001'), undefined)
  t.same(h.sent.map(s => s.paused), [true, false])
  t.same(h.audit.map(a => [a.actor, a.action, a.target]), [['spv', 'acw.end', '1001']], 'audited')
})

t.test('mode early-exit: the agent ends its own ACW', async t => {
  const h = harness({ mode: 'early-exit' })
  h.acw.onReleased('1002', 'c', 'pln123', 'agent hung up')
  await h.clock.advance(5000)
  await h.acw.complete('1002', { name: 'agent-1002', role: 'agent' })
  t.equal(h.repo.get('1002'), undefined)
  t.equal(h.sent.at(-1)?.paused, false)
  t.equal(h.audit[0]?.action, 'acw.complete')
  await t.rejects(h.acw.complete('1002', { name: 'agent-1002', role: 'agent' }), { code: 'NOT_IN_ACW' })
})

t.test('a supervisor extends ACW: the deadline moves and is kept', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(10_000)
  const e = await h.acw.supervise('1001', supervisor, { extendSeconds: 60 })
  t.equal(e?.endsAt, '2026-11-24T03:01:30.000Z')
  await h.clock.advance(30_000)
  t.equal(h.sent.length, 1, 'not unpaused at the old deadline')
  await h.clock.advance(50_000)
  t.equal(h.sent.at(-1)?.paused, false, 'unpaused at the new one')
  t.equal(h.audit[0]?.action, 'acw.extend')
})

t.test('someone else paused the agent for another reason: ACW ends without unpausing', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(1000)
  h.pause.set('1001', { paused: true, reason: 'Istirahat' }) // a supervisor's break pause
  h.acw.onPauseEvent('1001', true, 'Istirahat')
  await h.clock.advance(30_000)
  t.same(h.sent.map(s => s.paused), [true], 'never unpaused')
  t.equal(h.repo.get('1001'), undefined, 'but ACW is over')
  t.ok(h.log.lines.some(l => /paused by someone else/.test(l.msg ?? '')))
})

t.test('unpaused behind the service\'s back during ACW: the pause goes back on', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(1000)
  h.pause.set('1001', { paused: false, reason: '' })
  h.acw.onPauseEvent('1001', false, '')
  await h.clock.advance(0)
  t.same(h.sent.map(s => s.paused), [true, true], 're-paused')
  t.equal(h.pause.get('1001')?.paused, true)
})

t.test('a pause that does not take effect is retried, then reported', async t => {
  const h = harness({ pauseRetries: 2 })
  h.pbx.answer = false
  let failed: unknown
  h.acw.on('pauseFailed', (id, paused) => { failed = [id, paused] })
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(3500)
  t.equal(h.sent.length, 3, 'first attempt and two retries')
  t.same(failed, ['1001', true], 'reported')
  t.ok(h.log.at('error').some(l => /did not take effect after 3 attempts/.test(l.msg ?? '')))
  t.equal(h.repo.get('1001')?.state, 'active', 'the deadline still stands')
})

t.test('AMI down at the deadline: kept as ending, finished when AMI is back', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(1000)
  h.pbx.down = true
  await h.clock.advance(30_000)
  t.equal(h.repo.get('1001')?.state, 'ending', 'not forgotten: the agent is still paused in Asterisk')
  h.pbx.down = false
  await h.acw.reapply()
  t.equal(h.repo.get('1001'), undefined)
  t.equal(h.sent.at(-1)?.paused, false, 'unpaused once AMI is back')
})

t.test('restart of the service: original deadline kept; past deadlines end at once', async t => {
  const repo = new MemRepo()
  const clock = new FakeClock()
  const first = harness({}, repo, clock)
  first.acw.onReleased('1001', 'c1', 'pln123', 'caller hung up')
  first.acw.onReleased('1002', 'c2', 'pln123', 'caller hung up')
  await clock.advance(10_000)
  first.acw.stop() // the process dies; timers with it
  repo.save({ ...(repo.get('1002') as AcwEntry), endsAt: new Date(clock.t - 1).toISOString() }) // 1002's deadline passed while down
  const second = harness({}, repo, clock)
  second.pause.set('1001', { paused: true, reason: 'ACW' })
  second.pause.set('1002', { paused: true, reason: 'ACW' })
  await second.acw.recover()
  await clock.advance(0)
  t.same(second.sent, [{ iface: 'PJSIP/1002', paused: false, reason: 'ACW' }], '1002 unpaused at once')
  await clock.advance(19_999)
  t.equal(second.sent.length, 1, '1001 still waits for its original deadline')
  await clock.advance(1)
  t.same(second.sent[1], { iface: 'PJSIP/1001', paused: false, reason: 'ACW' })
  t.equal(repo.rows.size, 0)
})

t.test('Asterisk restart: members come back unpaused, ACW pauses are re-applied', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(5000)
  h.pause.clear() // a fresh Asterisk knows nothing of pauses
  await h.acw.reapply()
  t.same(h.sent.map(s => s.paused), [true, true], 'paused again after the restart')
  await h.clock.advance(25_000)
  t.equal(h.sent.at(-1)?.paused, false, 'and released at the original deadline')
})

t.test('transfer: paused before the transfer, ACW counted from the transfer; a failed transfer undoes the hold', async t => {
  const h = harness()
  const pause = h.acw.holdForTransfer('1001', 'c', 'pln123')
  t.equal(h.repo.get('1001')?.state, 'holding', 'the hold is recorded at once (in the caller\'s transaction)')
  t.same(h.sent, [], 'nothing is sent to the PBX before the caller has committed')
  pause()
  await h.clock.advance(0)
  t.equal(h.acw.endsAt('1001'), undefined, 'no countdown while still on the call')
  t.same(h.sent.map(s => s.paused), [true])
  await h.clock.advance(2000)
  h.acw.onReleased('1001', 'c', 'pln123', 'transferred')
  t.equal(h.acw.endsAt('1001'), '2026-11-24T03:00:32.000Z', 'deadline from the moment the call left the agent')
  t.equal(h.sent.length, 1, 'no second pause: already paused')

  h.acw.holdForTransfer('1002', 'd', 'pln123')()
  await h.clock.advance(0)
  await h.acw.releaseHold('1002')
  t.equal(h.repo.get('1002'), undefined)
  t.same(h.sent.filter(s => s.iface === 'PJSIP/1002').map(s => s.paused), [true, false], 'unpaused again')
})

t.test('transfer landed: the deadline is recorded with the outcome, the release only starts the countdown', async t => {
  const h = harness()
  h.acw.holdForTransfer('1001', 'c', 'pln123')()
  await h.clock.advance(1000)
  h.acw.recordTransferred('1002', 'c') // not held: nothing to do
  h.acw.recordTransferred('1001', 'other-call') // another call's outcome: the hold stays
  t.equal(h.repo.get('1001')?.state, 'holding')
  h.acw.recordTransferred('1001', 'c')
  t.match(h.repo.get('1001'), { state: 'active', callId: 'c', endsAt: '2026-11-24T03:00:31.000Z', seconds: 30 }, 'deadline recorded with the outcome')
  const saved = h.repo.saves
  await h.clock.advance(5)
  h.acw.onReleased('1001', 'c', 'pln123', 'transferred')
  t.equal(h.repo.saves, saved, 'the release writes nothing more')
  t.equal(h.acw.endsAt('1001'), '2026-11-24T03:00:31.000Z', 'the deadline recorded with the outcome is kept')
  t.same(h.sent.map(s => s.paused), [true], 'no second pause')
  await h.clock.advance(29_994)
  await h.clock.advance(0)
  t.equal(h.sent.length, 1, 'still in ACW 1 ms before the deadline')
  await h.clock.advance(1)
  await h.clock.advance(0)
  t.same(h.sent.map(s => s.paused), [true, false], 'unpaused at the deadline')
  t.equal(h.repo.get('1001'), undefined)
})

t.test('a kill while holding for a transfer: after restart ACW starts if the agent is off the call', async t => {
  const repo = new MemRepo()
  const clock = new FakeClock()
  repo.save({ agentId: '1001', callId: 'c', startedAt: new Date(clock.t).toISOString(), state: 'holding', seconds: 30 })
  const h = harness({}, repo, clock)
  await h.acw.recover()
  t.equal(h.repo.get('1001')?.state, 'active')
  await clock.advance(30_000)
  await clock.advance(0)
  t.equal(h.repo.get('1001'), undefined, 'no agent stays paused for ever')
})

t.test('the wall clock jumps forward during ACW: neither an AMI login nor an extension ends it early', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up') // deadline 30 s on, monotonic
  await h.clock.advance(5000)
  h.clock.jump(3_600_000) // NTP step or an operator's `date`: an hour ahead
  h.pause.clear() // and Asterisk restarted meanwhile: the login re-applies ACW
  await h.acw.reapply()
  t.same(h.sent.map(s => s.paused), [true, true], 'paused again, not ended: the deadline is 25 s away, whatever the wall clock says')
  await h.acw.supervise('1001', supervisor, { extendSeconds: 10 })
  t.equal(h.repo.get('1001')?.endsAt, '2026-11-24T03:00:40.000Z', 'the stored deadline stays wall-clock (for a restart)')
  await h.clock.advance(34_999)
  t.same(h.sent.map(s => s.paused), [true, true], 'still in ACW 1 ms before the monotonic deadline (30 s + 10 s)')
  await h.clock.advance(1)
  t.same(h.sent.map(s => s.paused), [true, true, false], 'unpaused at the monotonic deadline')
  t.equal(h.repo.get('1001'), undefined)
})

t.test('the wall clock jumps back during ACW: the agent is unpaused at the monotonic deadline, not an hour late', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(5000)
  h.clock.jump(-3_600_000)
  await h.acw.reapply() // an AMI login after the jump: the member is still paused, nothing to do
  t.same(h.sent.map(s => s.paused), [true])
  await h.clock.advance(24_999)
  t.equal(h.sent.length, 1, 'not before the deadline')
  await h.clock.advance(1)
  t.same(h.sent.map(s => s.paused), [true, false], 'unpaused 30 s after the call, though the wall clock says it is an hour early')
  t.equal(h.repo.get('1001'), undefined)
})

t.test('an unpause that did not take while AMI is up is tried again with back-off until it takes', async t => {
  const h = harness({ pauseRetries: 0 })
  const unpauses = (): number => h.sent.filter(s => !s.paused).length
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(29_000)
  h.pbx.answer = false // Asterisk takes the action but the member does not change
  await h.clock.advance(2000) // the deadline, then the confirmation timeout
  t.equal(unpauses(), 1, 'the unpause was sent at the deadline')
  t.equal(h.repo.get('1001')?.state, 'ending', 'not confirmed: kept as ending')
  await h.clock.advance(5 * 60_000)
  t.ok(unpauses() >= 3, 'tried again later, more than once')
  h.pbx.answer = true
  await h.clock.advance(60_000)
  t.equal(h.repo.get('1001'), undefined, 'ended once the unpause took')
  t.equal(h.pause.get('1001')?.paused, false)
  const n = unpauses()
  await h.clock.advance(10 * 60_000)
  t.equal(unpauses(), n, 'and no more tries after that')
})

t.test('a pause that did not take while AMI is up is tried again with back-off while the ACW lasts, then no more', async t => {
  const h = harness({ pauseRetries: 0 })
  const pauses = (): number => h.sent.filter(s => s.paused).length
  h.pbx.answer = false // Asterisk takes the action but the member does not change
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(1000) // the confirmation timeout
  t.equal(pauses(), 1, 'the pause was sent once and did not take')
  t.equal(h.pause.get('1001'), undefined, 'the agent is free: a queue call could reach it during ACW')
  await h.clock.advance(12_000)
  t.ok(pauses() >= 3, `tried again, more than once (${pauses()} pauses by 13 s)`)
  h.pbx.answer = true
  await h.clock.advance(10_000) // 23 s: before the 30 s deadline
  t.same(h.pause.get('1001'), { paused: true, reason: 'ACW' }, 'paused once a try took, before the deadline')
  const n = pauses()
  await h.clock.advance(7_000) // the deadline
  t.equal(h.pause.get('1001')?.paused, false, 'unpaused at the deadline')
  await h.clock.advance(10 * 60_000)
  t.equal(pauses(), n, 'no pause tried after it took, nor after the ACW ended')
})

t.test('a pause that never takes: its retries stop when the ACW ends', async t => {
  const h = harness({ pauseRetries: 0 })
  const pauses = (): number => h.sent.filter(s => s.paused).length
  h.pbx.answer = false
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(31_000) // past the deadline
  h.pbx.answer = true // the unpause at the deadline is retried and takes
  await h.clock.advance(5 * 60_000)
  t.equal(h.repo.get('1001'), undefined, 'the ACW ended')
  const n = pauses()
  await h.clock.advance(10 * 60_000)
  t.equal(pauses(), n, 'no pause sent after the ACW ended')
  t.equal(h.pause.get('1001')?.paused, false, 'the agent is free, not paused by a stray retry')
})

t.test('a new ACW during the retries of the last one\'s unpause: the retries stop, the new deadline holds', async t => {
  const h = harness({ pauseRetries: 0 })
  h.acw.onReleased('1001', 'c1', 'pln123', 'caller hung up')
  await h.clock.advance(29_000)
  h.pbx.answer = false
  await h.clock.advance(2000) // deadline at 30 s, unpause not confirmed by 31 s
  t.equal(h.repo.get('1001')?.state, 'ending')
  h.pbx.answer = true
  const sent = h.sent.length
  h.acw.onReleased('1001', 'c2', undefined, 'agent hung up') // a direct call ended meanwhile
  await h.clock.advance(29_999)
  t.same(h.sent.slice(sent), [{ iface: 'PJSIP/1001', paused: true, reason: 'ACW' }], 'paused for the new ACW, no stray unpause from the old retries')
  await h.clock.advance(1)
  t.equal(h.sent.at(-1)?.paused, false, 'unpaused at the new deadline')
})

t.test('our pause confirmed, then the agent\'s unpause, both before the pause step resumes: the pause goes back on', async t => {
  const h = harness()
  h.pbx.answer = false // the test plays Asterisk's events itself
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(0)
  h.acw.onPauseEvent('1001', true, 'ACW') // our confirmation ...
  h.pause.set('1001', { paused: false, reason: '' })
  h.acw.onPauseEvent('1001', false, '') // ... and the unpause, in one TCP chunk
  h.pbx.answer = true
  await h.clock.advance(0)
  t.same(h.sent.map(s => s.paused), [true, true], 're-paused')
  t.same(h.pause.get('1001'), { paused: true, reason: 'ACW' })
  t.ok(h.log.at('warn').some(l => /unpaused by someone else during ACW/.test(l.msg ?? '')), 'and said why')
})

t.test('an unpause that came before our confirmation (the other order in one chunk): nothing to undo', async t => {
  const h = harness()
  h.pbx.answer = false
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(0)
  h.acw.onPauseEvent('1001', false, '')
  h.pause.set('1001', { paused: true, reason: 'ACW' })
  h.acw.onPauseEvent('1001', true, 'ACW')
  await h.clock.advance(0)
  t.same(h.sent.map(s => s.paused), [true], 'the member ended paused: no second QueuePause')
})

t.test('the wall clock jumps forward, then a supervisor extends ACW: the extension counts from the monotonic deadline', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await h.clock.advance(5000)
  h.clock.jump(3_600_000)
  await h.acw.supervise('1001', supervisor, { extendSeconds: 10 })
  await h.clock.advance(0)
  t.same(h.sent.map(s => s.paused), [true], 'not ended by the extension')
  await h.clock.advance(34_999)
  t.equal(h.sent.length, 1, 'still in ACW 1 ms before 30 s + 10 s')
  await h.clock.advance(1)
  t.same(h.sent.map(s => s.paused), [true, false], 'unpaused at 30 s + 10 s on the monotonic clock')
})

t.test('a new ACW begins while the last one\'s unpause is in flight: the new one is kept, not forgotten with the old', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'c1', 'pln123', 'caller hung up')
  await h.clock.advance(29_000)
  h.pbx.answer = false // the test plays Asterisk's events itself
  await h.clock.advance(1000) // the deadline: QueuePause(false) sent, not yet confirmed
  t.equal(h.sent.at(-1)?.paused, false)
  h.acw.onReleased('1001', 'c2', undefined, 'call ended while the service could not see it') // a resync finds another call ended
  await settle() // the new deadline is durable before the PBX hears of it
  t.equal(h.sent.at(-1)?.paused, true, 'the new ACW\'s pause goes out after the unpause')
  h.pause.set('1001', { paused: false, reason: '' })
  h.acw.onPauseEvent('1001', false, '') // the old unpause lands ...
  h.pause.set('1001', { paused: true, reason: 'ACW' })
  h.acw.onPauseEvent('1001', true, 'ACW') // ... then the new pause
  await h.clock.advance(0)
  t.match(h.repo.get('1001'), { state: 'active', callId: 'c2' }, 'the new ACW stands')
  h.pbx.answer = true
  await h.clock.advance(30_000)
  t.equal(h.sent.at(-1)?.paused, false, 'and the agent is unpaused at its deadline')
  t.equal(h.repo.get('1001'), undefined)
})

t.test('the deadline is durable before the PBX hears anything: no QueuePause until the store confirms it', async t => {
  const repo = new MemRepo()
  let confirm = (): void => {}
  const durable = new Promise<void>(resolve => { confirm = resolve })
  const save = repo.save
  repo.save = async e => { await save(e); await durable } // a store slow to commit
  const h = harness({}, repo)
  h.acw.onReleased('1001', 'c', 'pln123', 'caller hung up')
  await settle()
  t.same(h.sent, [], 'nothing sent while the deadline is not durable')
  t.match(h.repo.get('1001'), { state: 'active', callId: 'c' }, 'though ACW has begun (memory)')
  confirm()
  await settle()
  t.same(h.sent.map(s => s.paused), [true], 'paused once the deadline is stored')
})
