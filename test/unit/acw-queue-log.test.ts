// ACW's queue_log lines (ACWSTART, ACWEND) through its QueueLogPort: one of each per
// ACW whatever is repeated (a second release of the call, two ends at once, a
// restart), none for a hold whose transfer failed, and a QueueLog that fails or
// throws never stops ACW (queue_log is reporting, not control).
import t from 'tap'
import { AcwService, type AcwAgent } from '../../src/acw/service.ts'
import type { QueueLogEntry } from '../../src/acw/types.ts'
import { RecordingLog } from '../helpers/ami.ts'
import { FakeClock, MemRepo } from '../helpers/acw-fakes.ts'

const AGENTS: AcwAgent[] = [
  { id: '1001', interface: 'PJSIP/1001', memberName: 'Agent 1001', queues: ['pln123', 'other'] },
  { id: '1002', interface: 'PJSIP/1002', queues: ['pln123'] }
]

function harness (opts: { mode?: 'fixed' | 'early-exit', repo?: MemRepo, clock?: FakeClock, write?: (e: QueueLogEntry) => Promise<void> } = {}) {
  const clock = opts.clock ?? new FakeClock()
  const repo = opts.repo ?? new MemRepo()
  const log = new RecordingLog()
  const lines: QueueLogEntry[] = []
  const pause = new Map<string, { paused: boolean, reason: string }>()
  const sent: boolean[] = []
  const byIface = new Map(AGENTS.map(a => [a.interface, a.id]))
  const acw: AcwService = new AcwService({
    repo,
    clock,
    log,
    audit: { record: () => {} },
    agents: AGENTS,
    settings: { seconds: 30, mode: opts.mode ?? 'fixed', perQueue: {}, perAgent: {}, pauseReason: 'ACW', pauseRetries: 1 },
    pauseOf: id => pause.get(id),
    onCall: () => false,
    confirmTimeoutMs: 1000,
    pbx: {
      async setPaused (iface, paused, reason) {
        sent.push(paused)
        const id = byIface.get(iface) as string
        pause.set(id, { paused, reason: paused ? reason : '' })
        queueMicrotask(() => acw.onPauseEvent(id, paused, paused ? reason : ''))
      }
    },
    queueLog: { write: opts.write ?? (async e => { lines.push(e) }) }
  })
  return { acw, clock, repo, log, lines, sent }
}

t.test('a call end: one ACWSTART with the call, its queue and MemberName, one ACWEND after the deadline', async t => {
  const h = harness()
  h.acw.onReleased('1001', 'call-1', 'pln123', 'caller hung up')
  h.acw.onReleased('1001', 'call-1', 'pln123', 'caller hung up') // the same release seen again (a resync)
  await h.clock.advance(0)
  t.same(h.lines, [{ queue: 'pln123', callId: 'call-1', agent: 'Agent 1001', event: 'ACWSTART', data: ['30', 'ACW'] }], 'ACWSTART once')
  await h.clock.advance(29_999)
  t.equal(h.lines.length, 1, 'no ACWEND before the deadline')
  await h.clock.advance(1)
  t.same(h.lines[1], { queue: 'pln123', callId: 'call-1', agent: 'Agent 1001', event: 'ACWEND', data: ['30', 'TIMEOUT'] }, 'ACWEND at the deadline: how long, ended by the time')
  await h.clock.advance(60_000)
  t.equal(h.lines.length, 2, 'nothing more')
})

t.test('no MemberName configured: the interface is the agent column; a call outside the queue uses the agent\'s first queue', async t => {
  const h = harness()
  h.acw.onReleased('1002', 'call-2', undefined, 'direct call ended')
  await h.clock.advance(30_000)
  t.same(h.lines.map(l => [l.event, l.queue, l.agent, l.callId]), [['ACWSTART', 'pln123', 'PJSIP/1002', 'call-2'], ['ACWEND', 'pln123', 'PJSIP/1002', 'call-2']])
})

t.test('two ends at once (the agent and a supervisor): one ACWEND', async t => {
  const h = harness({ mode: 'early-exit' })
  h.acw.onReleased('1001', 'call-3', 'other', 'caller hung up')
  await h.clock.advance(5_000)
  await Promise.all([
    h.acw.complete('1001', { name: 'agent-1001', role: 'agent' }),
    h.acw.supervise('1001', { name: 'spv', role: 'supervisor' }, { end: true })
  ])
  await h.clock.advance(60_000)
  t.same(h.lines.map(l => [l.event, l.queue, ...l.data]), [['ACWSTART', 'other', '30', 'ACW'], ['ACWEND', 'other', '5', 'AGENT']], 'ACWEND once, by whoever ended it first, in the call\'s queue')
  t.equal(h.repo.get('1001'), undefined)
})

t.test('a transfer: nothing while holding, ACWSTART once it landed; a failed transfer writes nothing', async t => {
  const h = harness()
  h.acw.holdForTransfer('1001', 'call-4', 'pln123')()
  await h.clock.advance(0)
  t.same(h.sent, [true], 'paused ahead of the transfer')
  t.equal(h.lines.length, 0, 'the hold is talk time, not ACW: no line')
  h.acw.recordTransferred('1001', 'call-4')
  h.acw.onReleased('1001', 'call-4', 'pln123', 'transferred')
  await h.clock.advance(30_000)
  t.same(h.lines.map(l => [l.event, l.callId]), [['ACWSTART', 'call-4'], ['ACWEND', 'call-4']])

  const f = harness()
  f.acw.holdForTransfer('1002', 'call-5', 'pln123')()
  await f.clock.advance(0)
  await f.acw.releaseHold('1002')
  await f.clock.advance(60_000)
  t.same(f.sent, [true, false], 'hold undone')
  t.equal(f.lines.length, 0, 'no ACW, no line')
})

t.test('a restart during ACW: no second ACWSTART, ACWEND at the original deadline', async t => {
  const repo = new MemRepo()
  const clock = new FakeClock()
  const a = harness({ repo, clock })
  a.acw.onReleased('1001', 'call-6', 'other', 'caller hung up')
  await clock.advance(10_000)
  a.acw.stop()
  const b = harness({ repo, clock })
  await b.acw.recover()
  await b.acw.reapply()
  await clock.advance(20_000)
  t.same(a.lines.map(l => l.event), ['ACWSTART'])
  t.same(b.lines.map(l => [l.event, l.queue, l.callId, ...l.data]), [['ACWEND', 'pln123', 'call-6', '30', 'TIMEOUT']], 'once, in the agent\'s first queue (the call\'s is not kept across a restart)')
})

t.test('QueueLog fails or throws: ACW pauses and ends all the same, the failure is logged', async t => {
  for (const [what, write] of [
    ['rejects', async () => { throw Object.assign(new Error('AMI is disconnected'), { code: 'AMI_UNAVAILABLE' }) }],
    ['throws', () => { throw new Error('boom') }]
  ] as Array<[string, () => Promise<void>]>) {
    const h = harness({ write })
    h.acw.onReleased('1001', 'call-7', 'pln123', 'caller hung up')
    await h.clock.advance(0)
    t.same(h.sent, [true], `${what}: paused`)
    t.equal(h.repo.get('1001')?.state, 'active')
    await h.clock.advance(30_000)
    t.same(h.sent, [true, false], `${what}: unpaused at the deadline`)
    t.equal(h.repo.get('1001'), undefined, `${what}: ACW over`)
    t.equal(h.log.at('warn').filter(e => e.msg === 'queue_log line not written').length, 2, `${what}: both lost lines logged`)
  }
})
