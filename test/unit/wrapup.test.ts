// The wrap-up window and the default rule (CONTRACT.md section 7), with a fake clock:
// the pure rules, then the real tracker, ACW and wrap-up service wired as the service
// wires them (listenForWindowEnds), over in-memory stores that outlive a "restart".
import t from 'tap'
import { AcwService } from '../../src/acw/service.ts'
import type { AcwEntry } from '../../src/acw/types.ts'
import type { AuditEntry } from '../../src/audit/log.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import type { Call } from '../../src/calls/types.ts'
import { finalWrapup, wrapupWindow, type WrapupCodes } from '../../src/wrapup/rules.ts'
import { listenForWindowEnds, WrapupService, type WrapupLogLine } from '../../src/wrapup/service.ts'
import { RecordingLog } from '../helpers/ami.ts'
import { FakeClock, MemRepo, settle } from '../helpers/acw-fakes.ts'

const CODES: WrapupCodes = {
  codes: [{ code: 'SELESAI', label: 'Selesai dijelaskan' }, { code: 'TRANSFER_ICONNET', label: 'Ditransfer ke CC ICONNET' }, { code: 'TINDAK_LANJUT', label: 'Perlu tindak lanjut' }],
  defaultCode: 'TANPA_KODE'
}
const AGENT = { id: '1001', interface: 'PJSIP/1001', memberName: 'Agent 1001', queues: ['pln123'] }
const AGENT_ACTOR = { name: 'agent-1001', role: 'agent' }

const call = (over: Partial<Call> = {}): Call => ({ callId: 'c1', state: 'connected', agentId: '1001', offeredAt: '2026-11-24T03:00:00Z', connectedAt: '2026-11-24T03:00:05Z', source: 'cti', ...over })
const acw = (over: Partial<AcwEntry> = {}): AcwEntry => ({ agentId: '1001', callId: 'c1', startedAt: '2026-11-24T03:01:00Z', endsAt: '2026-11-24T03:01:30Z', state: 'active', seconds: 30, ...over })

t.test('the window: opens at the answer, stays open while the call or its ACW runs, closes with that ACW or at the end without one', async t => {
  t.equal(wrapupWindow(call({ state: 'offered', agentId: undefined, connectedAt: undefined }), undefined), 'not-answered')
  t.equal(wrapupWindow(call(), undefined), 'open', 'connected')
  t.equal(wrapupWindow(call({ state: 'transferring' }), acw({ state: 'holding', endsAt: undefined })), 'open', 'the button pressed')
  t.equal(wrapupWindow(call({ state: 'ended' }), acw()), 'open', 'ended, its ACW counting down')
  t.equal(wrapupWindow(call({ state: 'transferred' }), acw()), 'open', 'transferred, its ACW counting down')
  t.equal(wrapupWindow(call({ state: 'ended' }), acw({ state: 'holding', endsAt: undefined })), 'open', 'ended during a hold: ACW will count from it')
  t.equal(wrapupWindow(call({ state: 'ended' }), acw({ state: 'ending' })), 'closed', 'its ACW is over (unpause under way)')
  t.equal(wrapupWindow(call({ state: 'ended' }), acw({ callId: 'c2' })), 'closed', 'the agent\'s ACW is another call\'s')
  t.equal(wrapupWindow(call({ state: 'ended' }), undefined), 'closed', 'ended with no ACW')
  t.equal(wrapupWindow(call({ wrapup: { code: 'SELESAI', label: 'x', source: 'agent', at: 'x', final: true } }), undefined), 'closed', 'final, whatever else')
  t.equal(wrapupWindow(call({ state: 'ended', agentId: undefined, connectedAt: undefined }), undefined), 'closed', 'never answered')
})

t.test('the final wrap-up: the choice, else the topic\'s code, else the default; labels from the config (the code when not listed)', async t => {
  const at = '2026-11-24T03:01:30.000Z'
  const chosen = { code: 'SELESAI', label: 'Selesai dijelaskan', note: 'n', source: 'agent' as const, at: '2026-11-24T03:00:50Z', by: 'agent-1001' }
  t.same(finalWrapup(call({ wrapup: chosen }), CODES, at), { ...chosen, final: true }, 'the choice kept as made (its time, by whom)')
  const inquiry = { topic: 'activation', customer: { name: 'B', salutation: 'Bapak' }, decision: { wrapupCode: 'TRANSFER_ICONNET' }, at, by: 'a' } as unknown as Call['inquiry']
  t.same(finalWrapup(call({ inquiry }), CODES, at), { code: 'TRANSFER_ICONNET', label: 'Ditransfer ke CC ICONNET', source: 'topic', at, final: true })
  t.same(finalWrapup(call(), CODES, at), { code: 'TANPA_KODE', label: 'TANPA_KODE', source: 'default', at, final: true })
  t.equal(finalWrapup(call(), { ...CODES, defaultCode: 'SELESAI' }, at).label, 'Selesai dijelaskan', 'a listed default carries its label')
})

interface World {
  clock: FakeClock
  tracker: CallTracker
  acw: AcwService
  wrapups: WrapupService
  audit: AuditEntry[]
  lines: WrapupLogLine[]
  log: RecordingLog
}

/** The three parts as src/wiring wires them; `callRepo` and `acwRepo` survive a "restart". */
async function world (opts: { seconds?: number, callRepo?: MemoryCallRepository, acwRepo?: MemRepo, clock?: FakeClock } = {}): Promise<World> {
  const clock = opts.clock ?? new FakeClock()
  const log = new RecordingLog()
  const audit: AuditEntry[] = []
  const lines: WrapupLogLine[] = []
  const tracker = new CallTracker([AGENT], opts.callRepo ?? new MemoryCallRepository(), log, () => new Date(clock.now()))
  await tracker.load()
  const pause = new Map<string, { paused: boolean, reason: string }>()
  const acwService: AcwService = new AcwService({
    repo: opts.acwRepo ?? new MemRepo(),
    clock,
    log,
    audit: { record: e => audit.push(e) },
    agents: [AGENT],
    settings: { seconds: opts.seconds ?? 30, mode: 'fixed', perQueue: {}, perAgent: {}, pauseReason: 'ACW', pauseRetries: 1 },
    pauseOf: id => pause.get(id),
    onCall: id => tracker.agentStatus(id)?.callId !== undefined,
    confirmTimeoutMs: 1000,
    pbx: {
      async setPaused (_iface, paused, reason) {
        pause.set('1001', { paused, reason: paused ? reason : '' })
        queueMicrotask(() => acwService.onPauseEvent('1001', paused, paused ? reason : ''))
      }
    }
  })
  tracker.on('released', (agentId, c, reason) => acwService.onReleased(agentId, c.callId, c.queue, reason))
  const wrapups = new WrapupService({
    calls: { get: id => tracker.get(id), recall: async id => await tracker.recall(id) },
    lifecycle: tracker.lifecycle,
    acwOf: id => acwService.entry(id),
    codes: CODES,
    audit: { record: e => audit.push(e) },
    log,
    now: () => new Date(clock.now()),
    member: () => ({ name: AGENT.memberName, queue: 'pln123' }),
    queueLog: { write: async l => { lines.push(l) } }
  })
  listenForWindowEnds(wrapups, { tracker, acw: acwService })
  await acwService.recover()
  return { clock, tracker, acw: acwService, wrapups, audit, lines, log }
}

const answer = (w: World, callId: string): void => {
  w.tracker.onCti({ type: 'call.offered', callId, data: { customerChannel: `PJSIP/trunk-${callId}`, queue: 'pln123' } })
  w.tracker.onCti({ type: 'call.answered', callId, agentId: '1001', data: { agentChannel: `PJSIP/1001-${callId}` } })
}
const hangUp = (w: World, callId: string): void => { w.tracker.onCti({ type: 'call.ended', callId, data: { reason: 'caller hung up' } }) }
const codeOf = (err: unknown): string | undefined => (err as { code?: string }).code
const attempt = (fn: () => unknown): string => { try { fn(); return 'ok' } catch (err) { return codeOf(err) ?? String(err) } }

t.test('a choice is open from the answer through ACW (the last one wins), final at the deadline to the millisecond, then WRAPUP_CLOSED', async t => {
  const w = await world()
  w.tracker.onCti({ type: 'call.offered', callId: 'c1', data: { customerChannel: 'PJSIP/trunk-c1', queue: 'pln123' } })
  t.equal(attempt(() => w.wrapups.choose('c1', { code: 'SELESAI' }, AGENT_ACTOR)), 'CALL_NOT_CONNECTED', 'before the answer')
  w.tracker.onCti({ type: 'call.answered', callId: 'c1', agentId: '1001', data: { agentChannel: 'PJSIP/1001-c1' } })
  t.equal(attempt(() => w.wrapups.choose('c1', { code: 'NOPE' }, AGENT_ACTOR)), 'UNKNOWN_WRAPUP_CODE')
  w.wrapups.choose('c1', { code: 'SELESAI', note: 'satu' }, AGENT_ACTOR)
  hangUp(w, 'c1')
  await w.clock.advance(0)
  t.equal(w.acw.endsAt('1001'), '2026-11-24T03:00:30.000Z')
  await w.clock.advance(29_999)
  w.wrapups.choose('c1', { code: 'TINDAK_LANJUT' }, { name: 'spv', role: 'supervisor' })
  t.match(w.tracker.get('c1')?.wrapup, { code: 'TINDAK_LANJUT', source: 'agent', by: 'spv' })
  t.notOk(w.tracker.get('c1')?.wrapup?.final, 'a millisecond before the deadline: open')
  t.same(w.lines, [], 'no queue_log line for a choice')
  await w.clock.advance(1)
  t.same(w.tracker.get('c1')?.wrapup, { code: 'TINDAK_LANJUT', label: 'Perlu tindak lanjut', source: 'agent', at: '2026-11-24T03:00:29.999Z', by: 'spv', final: true }, 'at the deadline: the last choice, final')
  t.equal(attempt(() => w.wrapups.choose('c1', { code: 'SELESAI' }, AGENT_ACTOR)), 'WRAPUP_CLOSED')
  t.same(w.lines, [{ queue: 'pln123', callId: 'c1', agent: 'Agent 1001', event: 'WRAPUP', data: ['TINDAK_LANJUT', 'agent'] }], 'one queue_log line, at the close')
  t.same(w.audit.filter(a => a.action.startsWith('call.wrapup')).map(a => [a.action, a.actor, a.details?.code]), [
    ['call.wrapup', 'agent-1001', 'SELESAI'], ['call.wrapup', 'spv', 'TINDAK_LANJUT'], ['call.wrapup.final', 'pln123-cti', 'TINDAK_LANJUT']
  ])
  await w.clock.advance(60_000)
  t.equal(w.lines.length, 1, 'never written twice')
})

t.test('nobody chose: the default at the deadline; a supervisor ending ACW early closes it then', async t => {
  const w = await world()
  answer(w, 'c1')
  hangUp(w, 'c1')
  await w.clock.advance(10_000)
  t.equal(w.tracker.get('c1')?.wrapup, undefined, 'nothing during ACW')
  await w.acw.supervise('1001', { name: 'spv', role: 'supervisor' }, { end: true })
  t.same(w.tracker.get('c1')?.wrapup, { code: 'TANPA_KODE', label: 'TANPA_KODE', source: 'default', at: '2026-11-24T03:00:10.000Z', final: true }, 'closed when the supervisor ended ACW')
  t.match(w.lines[0], { event: 'WRAPUP', data: ['TANPA_KODE', 'default'] })
})

t.test('the topic\'s code when the inquiry\'s topic names one', async t => {
  const w = await world()
  answer(w, 'c1')
  const decision = { topic: 'activation', action: 'transfer', script: 's', guidance: [], apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : TRANSFER CALL' }, policyVersion: '2021-08-17', wrapupCode: 'TRANSFER_ICONNET' } as const
  w.tracker.lifecycle.recordInquiry('c1', { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' }, decision: { ...decision, guidance: [] }, at: '2026-11-24T03:00:01Z', by: 'agent-1001' })
  hangUp(w, 'c1')
  await w.clock.advance(30_000)
  t.match(w.tracker.get('c1')?.wrapup, { code: 'TRANSFER_ICONNET', label: 'Ditransfer ke CC ICONNET', source: 'topic', final: true })
})

t.test('no ACW (0 seconds): the window closes at the call\'s end', async t => {
  const w = await world({ seconds: 0 })
  answer(w, 'c1')
  w.wrapups.choose('c1', { code: 'SELESAI' }, AGENT_ACTOR)
  hangUp(w, 'c1')
  await settle()
  t.match(w.tracker.get('c1')?.wrapup, { code: 'SELESAI', final: true })
  answer(w, 'c2')
  hangUp(w, 'c2')
  await settle()
  t.match(w.tracker.get('c2')?.wrapup, { code: 'TANPA_KODE', source: 'default', final: true })
  t.equal(attempt(() => w.wrapups.choose('c2', { code: 'SELESAI' }, AGENT_ACTOR)), 'WRAPUP_CLOSED')
})

t.test('a call straight to the phone during ACW: the earlier call\'s window closes when its ACW makes way', async t => {
  const w = await world()
  answer(w, 'c1')
  hangUp(w, 'c1')
  await w.clock.advance(5_000)
  answer(w, 'c2') // the phone rang outside the queue during ACW
  t.equal(w.tracker.get('c1')?.wrapup, undefined, 'still open while the ACW of c1 is there')
  hangUp(w, 'c2')
  await settle()
  t.match(w.tracker.get('c1')?.wrapup, { code: 'TANPA_KODE', final: true }, 'closed when c2\'s ACW replaced it')
  t.equal(w.tracker.get('c2')?.wrapup, undefined, 'c2\'s own window is open (its ACW runs)')
  t.equal(w.acw.entry('1001')?.callId, 'c2')
})

t.test('across a restart: the window closes at the ACW\'s stored deadline, for a call that is in the store only', async t => {
  const callRepo = new MemoryCallRepository()
  const acwRepo = new MemRepo()
  const clock = new FakeClock()
  const before = await world({ callRepo, acwRepo, clock })
  answer(before, 'c1')
  before.wrapups.choose('c1', { code: 'SELESAI' }, AGENT_ACTOR)
  hangUp(before, 'c1')
  await clock.advance(10_000)
  before.acw.stop() // the process goes away during ACW

  const after = await world({ callRepo, acwRepo, clock })
  t.equal(after.tracker.get('c1'), undefined, 'a finished call is not loaded at start')
  await clock.advance(19_999)
  t.equal((await callRepo.get('c1'))?.wrapup?.final, undefined, 'open until the original deadline')
  await after.tracker.recall('c1')
  after.wrapups.choose('c1', { code: 'TINDAK_LANJUT' }, AGENT_ACTOR)
  t.equal(after.tracker.get('c1')?.wrapup?.code, 'TINDAK_LANJUT', 'chosen after the restart')
  await clock.advance(1)
  await settle()
  t.match(await callRepo.get('c1'), { wrapup: { code: 'TINDAK_LANJUT', final: true } }, 'final at the deadline, in the store')
})

t.test('across a restart after the deadline passed while down: closed at start, with the default', async t => {
  const callRepo = new MemoryCallRepository()
  const acwRepo = new MemRepo()
  const clock = new FakeClock()
  const before = await world({ callRepo, acwRepo, clock })
  answer(before, 'c1')
  hangUp(before, 'c1')
  await clock.advance(1_000)
  before.acw.stop()
  clock.t += 120_000 // down for two minutes
  clock.mono += 120_000
  const after = await world({ callRepo, acwRepo, clock })
  await clock.advance(0)
  await settle()
  t.match(await callRepo.get('c1'), { wrapup: { code: 'TANPA_KODE', source: 'default', final: true } })
  t.equal(after.lines.length, 1, 'and its queue_log line')
})

t.test('ACW tells `ended` for an ACW that counted down, in the turn it turns ending; never for a hold that did not become ACW', async t => {
  const w = await world()
  const ended: AcwEntry[] = []
  w.acw.on('ended', e => { ended.push(e); t.equal(w.acw.entry('1001')?.state, 'ending', 'told once the row is ending') })
  answer(w, 'c1')
  const go = w.acw.holdForTransfer('1001', 'c1', 'pln123')
  go()
  await w.acw.releaseHold('1001')
  t.same(ended, [], 'a hold released (the transfer did not happen): no ACW ended')
  t.equal(w.tracker.get('c1')?.wrapup, undefined, 'and the call\'s window stays open')
  hangUp(w, 'c1')
  await w.clock.advance(30_000)
  t.same(ended.map(e => [e.callId, e.state]), [['c1', 'active']], 'the ACW of the call, as it was before it ended')
})
