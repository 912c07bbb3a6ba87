// The report facts (src/reports/facts.ts) from what the service hears: AMI events as
// Asterisk 22 words them, a real CallTracker's call changes (inside their transaction),
// ACW's end and the members' pauses; and the 15-minute window the gauges read.
import t from 'tap'
import { normalizeEvent } from '../../src/ami/events.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import type { Inquiry } from '../../src/calls/types.ts'
import { silentLog } from '../../src/log.ts'
import type { ReportFact } from '../../src/reports/fact.ts'
import { ReportFacts } from '../../src/reports/facts.ts'
import { QueueWindow } from '../../src/reports/window.ts'

const agents = [{ id: '1001', interface: 'Local/1001@agents/n', queues: ['pln123'] }]
const T0 = Date.parse('2026-12-01T02:00:00.000Z')

function setup () {
  let now = T0
  const clock = (): Date => new Date(now)
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog, clock)
  const facts: ReportFact[] = []
  const rf = new ReportFacts({ sink: f => { facts.push(f) }, agentOf: id => tracker.get(id)?.agentId, acwPauseReasons: () => ['ACW'], now: clock })
  tracker.setCallObservers([(prev, next) => { rf.onCallChange(prev, next) }])
  const ami = (raw: Record<string, string>): void => {
    const ev = normalizeEvent(raw)
    tracker.onAmi(ev)
    rf.onAmi(ev)
  }
  return { tracker, facts, rf, ami, advance: (s: number) => { now += s * 1000 }, kinds: () => facts.map(f => `${f.kind}${f.key !== undefined ? `:${f.key}` : ''}`) }
}

const caller = (id: string): Record<string, string> => ({ channel: `PJSIP/trunk-${id}`, uniqueid: id, linkedid: id, calleridnum: '0811', queue: 'pln123' })
const inquiry = (topic: Inquiry['topic']): Inquiry => ({
  topic,
  customer: { name: 'Budi', salutation: 'Bapak' },
  decision: { topic, action: 'transfer', script: '', guidance: [], apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : TRANSFER CALL' }, policyVersion: '2021-08-17' },
  at: new Date(T0).toISOString(),
  by: '1001'
})

t.test('joined, answered with AgentConnect\'s HoldTime, talk and topic at the end, the final wrap-up: all counted at the join', async t => {
  const s = setup()
  s.ami({ event: 'QueueCallerJoin', ...caller('c1'), position: '1', count: '1' })
  s.advance(12)
  s.ami({ event: 'AgentCalled', ...caller('c1'), destchannel: 'Local/1001@agents-1;1', interface: 'Local/1001@agents/n' })
  s.ami({ event: 'AgentConnect', ...caller('c1'), destchannel: 'Local/1001@agents-1;1', interface: 'Local/1001@agents/n', holdtime: '12', ringtime: '1' })
  s.tracker.lifecycle.recordInquiry('c1', inquiry('billing'))
  s.advance(90)
  s.ami({ event: 'Hangup', ...caller('c1'), cause: '16' })
  s.tracker.lifecycle.recordWrapup('c1', { code: 'SELESAI', label: 'Selesai', source: 'agent', at: new Date().toISOString(), final: true })
  t.strictSame(s.kinds(), ['joined:pln123', 'answered:pln123', 'topic:billing', 'talk', 'wrapup:SELESAI'], 'the offer after QueueCallerJoin adds no second join')
  const joinedAt = new Date(T0).toISOString()
  t.strictSame(new Set(s.facts.map(f => f.countsAt)), new Set([joinedAt]), 'every fact of the call counts at its join')
  t.match(s.facts.find(f => f.kind === 'answered'), { id: 'answered:c1', agentId: '1001', seconds: 12, callId: 'c1' })
  t.match(s.facts.find(f => f.kind === 'talk'), { agentId: '1001', seconds: 90 })
  t.match(s.facts.find(f => f.kind === 'wrapup'), { agentId: '1001', key: 'SELESAI' })
})

t.test('a call offered without a QueueCallerJoin heard (CTI): joined at the offer; a CTI answer\'s wait from it', async t => {
  const s = setup()
  s.tracker.onCti({ type: 'call.offered', callId: 'k1', data: { queue: 'pln123', customerChannel: 'PJSIP/trunk-k1' } })
  s.advance(25)
  s.tracker.onCti({ type: 'call.answered', callId: 'k1', agentId: '1001', data: { queue: 'pln123' } })
  t.strictSame(s.kinds(), ['joined:pln123', 'answered:pln123'])
  t.match(s.facts[1], { id: 'answered:k1', agentId: '1001', seconds: 25, countsAt: new Date(T0).toISOString() })
})

t.test('abandoned in the queue: its HoldTime; counted at the join, even when the join was not seen', async t => {
  const s = setup()
  s.ami({ event: 'QueueCallerJoin', ...caller('a1'), position: '1', count: '1' })
  s.advance(40)
  s.ami({ event: 'QueueCallerAbandon', ...caller('a1'), position: '1', originalposition: '1', holdtime: '40' })
  s.ami({ event: 'QueueCallerAbandon', ...caller('a2'), position: '1', originalposition: '2', holdtime: '30' })
  t.strictSame(s.kinds(), ['joined:pln123', 'abandoned:pln123', 'abandoned:pln123'])
  t.match(s.facts[1], { callId: 'a1', seconds: 40, countsAt: new Date(T0).toISOString() })
  t.match(s.facts[2], { callId: 'a2', seconds: 30, countsAt: new Date(T0 + 10_000).toISOString() }, 'now less the HoldTime')
})

t.test('a transfer: completed, the talk up to it, the topic, then the landing once final', async t => {
  const s = setup()
  const customer = 'PJSIP/trunk-x1'
  const agentLeg = 'Local/1001@agents-2;1'
  s.ami({ event: 'QueueCallerJoin', ...caller('x1'), position: '1', count: '1' })
  s.ami({ event: 'AgentConnect', ...caller('x1'), destchannel: agentLeg, interface: 'Local/1001@agents/n', holdtime: '3' })
  s.tracker.lifecycle.recordInquiry('x1', inquiry('activation'))
  s.advance(30)
  s.ami({ event: 'BlindTransfer', result: 'Success', transfererchannel: agentLeg, transfereechannel: customer, context: 'direct-transfer', extension: '3' })
  s.advance(8)
  s.ami({ event: 'DialEnd', channel: customer, linkedid: 'x1', destchannel: 'PJSIP/iconnet-1', dialstatus: 'ANSWER' })
  t.strictSame(s.kinds(), ['joined:pln123', 'answered:pln123', 'topic:activation', 'talk', 'transfer:completed', 'landing:answered'])
  t.match(s.facts.find(f => f.kind === 'talk'), { seconds: 30 })
  t.match(s.facts.find(f => f.kind === 'landing'), { seconds: 8, agentId: '1001' })
})

t.test('ACW\'s end: its length from its start; pauses by reason, ACW\'s own and repeats not counted', async t => {
  const s = setup()
  s.rf.onAcwEnded({ agentId: '1001', callId: 'c9', startedAt: new Date(T0 - 30_000).toISOString(), endsAt: new Date(T0).toISOString(), state: 'ending', seconds: 30 })
  s.rf.onMemberPause('1001', true, 'ACW')
  s.advance(30)
  s.rf.onMemberPause('1001', false, '')
  s.rf.onMemberPause('1001', true, 'ISTIRAHAT')
  s.rf.onMemberPause('1001', true, 'ISTIRAHAT') // the member's second queue
  s.advance(600)
  s.rf.onMemberPause('1001', true, 'SHOLAT') // the reason changed: a new pause
  s.advance(60)
  s.rf.onMemberPause('1001', false, '')
  s.rf.onMemberPause('1001', false, '')
  t.strictSame(s.kinds(), ['acw', 'pause:ISTIRAHAT', 'pause:SHOLAT'])
  t.match(s.facts[0], { agentId: '1001', seconds: 30, countsAt: new Date(T0 - 30_000).toISOString(), id: `acw:1001:${new Date(T0 - 30_000).toISOString()}` })
  t.match(s.facts[1], { seconds: 600, countsAt: new Date(T0 + 30_000).toISOString() })
  t.match(s.facts[2], { seconds: 60 })
})

t.test('the 15-minute window: service level and abandon rate over the callers who left the queue', async t => {
  let now = T0
  const w = new QueueWindow(20, () => now)
  t.equal(w.serviceLevel(), undefined)
  const at = (s: number): string => new Date(T0 + s * 1000).toISOString()
  w.add({ id: 'a', kind: 'answered', at: at(0), countsAt: at(0), seconds: 5 })
  w.add({ id: 'b', kind: 'answered', at: at(60), countsAt: at(0), seconds: 60 })
  w.add({ id: 'c', kind: 'abandoned', at: at(120), countsAt: at(0), seconds: 10 })
  w.add({ id: 'd', kind: 'joined', at: at(120), countsAt: at(120) })
  now = T0 + 130_000
  t.equal(w.serviceLevel(), 1 / 3)
  t.equal(w.abandonRate(), 1 / 3)
  now = T0 + 15 * 60_000 + 30_000 // the first has left the window
  t.equal(w.serviceLevel(), 0)
  t.equal(w.abandonRate(), 0.5)
  now = T0 + 60 * 60_000
  t.equal(w.abandonRate(), undefined, 'none left the queue in the window')
})
