// The agent's shift rules (CONTRACT.md section 7) with the real ACW service and a fake
// app_queue: members per interface, QueueAdd/QueueRemove/QueuePause answered as
// Asterisk does ("Already there", "Not there", "not dynamic") and a QueueMemberPause
// for each pause change, heard by ACW first and the shift after (as the wiring does).
import t from 'tap'
import { AcwService } from '../../src/acw/service.ts'
import { MemorySessionRepository } from '../../src/agents/session.ts'
import { ShiftService, type QueueMemberPort } from '../../src/agents/shift.ts'
import type { AuditEntry } from '../../src/audit/log.ts'
import { agentView } from '../../src/calls/agents.ts'
import { DEFAULT_PAUSE_REASONS } from '../../src/config/schema.ts'
import { ServiceMetrics } from '../../src/metrics/index.ts'
import { RecordingLog } from '../helpers/ami.ts'
import { FakeClock, MemRepo, settle } from '../helpers/acw-fakes.ts'

interface Member { queues: Set<string>, paused: boolean, reason: string, static: boolean, name: string }

function harness (opts: { mode?: 'fixed' | 'early-exit' } = {}) {
  const clock = new FakeClock()
  const configured = new Map([
    ['1001', { id: '1001', interface: 'PJSIP/1001', queues: ['pln123', 'vip'], memberName: 'Agent 1001' }],
    ['1002', { id: '1002', interface: 'PJSIP/1002', queues: ['pln123'] }],
    // created by the admin API without a phone of its own
    ['1009', { id: '1009', queues: ['pln123'] } as { id: string, interface?: string, queues: string[], memberName?: string }]
  ])
  const members = new Map<string, Member>()
  const actions: Array<{ name: string, fields: Record<string, unknown> }> = []
  const onCall = new Set<string>()
  const online = new Set<string>()
  const audit: AuditEntry[] = []
  const sessions = new MemorySessionRepository()
  const today = (id: string) => {
    const a = configured.get(id)
    const s = sessions.get(id)
    return a === undefined || s === undefined ? a : { ...a, interface: s.interface, queues: s.queues }
  }
  const agentAt = (iface: string): string | undefined => [...configured.keys()].find(id => today(id)?.interface?.toLowerCase() === iface.toLowerCase())
  const pauseEvent = (iface: string, m: Member): void => {
    const id = agentAt(iface)
    if (id === undefined) return
    queueMicrotask(() => { acw.onPauseEvent(id, m.paused, m.reason); shift.onMemberPause(id, m.paused, m.reason) })
  }
  const amiError = (message: string): Error => Object.assign(new Error(message), { code: 'AMI_ACTION_FAILED' })
  const pbx: QueueMemberPort = {
    async add (queue, iface, memberName, paused) {
      actions.push({ name: 'QueueAdd', fields: { queue, iface, memberName, paused } })
      const m = members.get(iface) ?? { queues: new Set<string>(), paused, reason: '', static: false, name: memberName }
      if (m.queues.has(queue)) return 'already'
      m.queues.add(queue)
      members.set(iface, m)
      return 'added'
    },
    async remove (queue, iface) {
      actions.push({ name: 'QueueRemove', fields: { queue, iface } })
      const m = members.get(iface)
      if (m?.queues.has(queue) !== true) return 'absent'
      if (m.static) return 'static'
      m.queues.delete(queue)
      if (m.queues.size === 0) members.delete(iface)
      return 'removed'
    },
    async pause (iface, paused, reason) {
      actions.push({ name: 'QueuePause', fields: { iface, paused, reason } })
      const m = members.get(iface)
      if (m === undefined) throw amiError('Interface not found')
      m.paused = paused
      m.reason = paused ? reason ?? '' : ''
      pauseEvent(iface, m)
    }
  }
  const statusOf = (id: string) => {
    const m = members.get(today(id)?.interface ?? '')
    return { online: m !== undefined || online.has(id), paused: m?.paused ?? false, reason: m?.reason ?? '', onCall: onCall.has(id) }
  }
  const log = new RecordingLog()
  const acw: AcwService = new AcwService({
    repo: new MemRepo(),
    pbx: { setPaused: async (iface, paused, reason) => { await pbx.pause(iface, paused, reason) } },
    clock,
    log,
    audit: { record: e => audit.push(e) },
    agents: today,
    settings: { seconds: 30, mode: opts.mode ?? 'fixed', perQueue: {}, perAgent: {}, pauseReason: 'ACW', pauseRetries: 1 },
    pauseOf: id => { const s = statusOf(id); return { paused: s.paused, reason: s.reason } },
    onCall: id => onCall.has(id),
    confirmTimeoutMs: 1000,
    retry: { initialMs: 1000, maxMs: 60_000, random: () => 0.5 },
    afterAcw: id => shift.afterAcw(id)
  })
  const shift: ShiftService = new ShiftService({
    repo: sessions,
    pbx,
    agentOf: id => configured.get(id),
    agentIds: () => [...configured.keys()],
    technologies: ['PJSIP', 'Local'],
    reasons: DEFAULT_PAUSE_REASONS,
    acw: { mode: opts.mode ?? 'fixed', pauseReason: 'ACW', complete: async (id, by) => { await acw.complete(id, by) } },
    view: { status: statusOf, inAcw: id => acw.entry(id) !== undefined },
    audit: { record: e => audit.push(e) },
    log,
    clock
  })
  /** A call to the agent ends: ACW begins (as the tracker's 'released' does). */
  const callEnds = async (id: string): Promise<void> => {
    onCall.delete(id)
    acw.onReleased(id, `call-${id}`, 'pln123', 'caller hung up')
    await clock.advance(0)
  }
  return { clock, members, actions, onCall, online, audit, sessions, acw, shift, callEnds, named: (n: string) => actions.filter(a => a.name === n) }
}

const agent = { name: 'agent-1001', role: 'agent' }

t.test('login: QueueAdd to each configured queue with the interface, MemberName and Paused false; the session kept', async t => {
  const h = harness()
  await h.shift.login('1001', {}, agent)
  t.same(h.named('QueueAdd').map(a => a.fields), [
    { queue: 'pln123', iface: 'PJSIP/1001', memberName: 'Agent 1001', paused: false },
    { queue: 'vip', iface: 'PJSIP/1001', memberName: 'Agent 1001', paused: false }
  ])
  t.match(h.sessions.get('1001'), { agentId: '1001', interface: 'PJSIP/1001', queues: ['pln123', 'vip'], since: '2026-11-24T03:00:00.000Z' })
  t.match(h.audit.at(-1), { action: 'agent.login', target: '1001', actor: 'agent-1001' })

  await h.shift.login('1002', { interface: 'PJSIP/2002' }, agent)
  t.same(h.named('QueueAdd').at(-1)?.fields, { queue: 'pln123', iface: 'PJSIP/2002', memberName: 'PJSIP/2002', paused: false }, 'another phone today; MemberName defaults to the interface')
  t.equal(h.shift.interfaceOf('1002'), 'PJSIP/2002', 'the interface of today is the login\'s')
})

t.test('login: a static member ("Already there") is a success; the queues given must be the agent\'s', async t => {
  const h = harness()
  h.members.set('PJSIP/1001', { queues: new Set(['pln123', 'vip']), paused: false, reason: '', static: true, name: 'Agent 1001' })
  await t.resolves(h.shift.login('1001', { queues: ['pln123'] }, agent))
  t.ok(h.sessions.get('1001'), 'logged in')
  const bad = await h.shift.login('1002', { queues: ['pln123', 'vip', 'other'] }, agent).then(() => undefined, (e: unknown) => e)
  t.match(bad, { code: 'BAD_REQUEST', statusCode: 400, message: /vip, other not among agent 1002's queues \(pln123\)/, details: { allowed: ['pln123'] } })
  t.equal(h.sessions.get('1002'), undefined, 'not logged in')
})

t.test('login: an interface with a newline or an unknown technology is refused before anything reaches Asterisk', async t => {
  const h = harness()
  for (const iface of ['PJSIP/2001\r\nAction: Originate', 'PJSIP/2001\n', 'SIPP/2001', '']) {
    const err = await h.shift.login('1001', { interface: iface }, agent).then(() => undefined, (e: unknown) => e)
    t.match(err, { code: 'BAD_REQUEST', message: /^interface: / }, JSON.stringify(iface))
  }
  t.equal(h.actions.length, 0, 'no action sent')
  t.equal(h.sessions.all().length, 0)
})

t.test('INTERFACE_IN_USE: another logged-in agent, or a static member online there; logged out, the phone is free', async t => {
  const h = harness()
  await h.shift.login('1002', { interface: 'PJSIP/2001' }, agent)
  const taken = await h.shift.login('1001', { interface: 'pjsip/2001' }, agent).then(() => undefined, (e: unknown) => e)
  t.match(taken, { code: 'INTERFACE_IN_USE', statusCode: 409, message: /agent 1002/ })
  h.online.add('1002')
  await h.shift.logout('1002', agent)
  h.online.delete('1002')
  await t.resolves(h.shift.login('1001', { interface: 'PJSIP/2001' }, agent), 'free after the logout')
  h.online.add('1002')
  const statik = await h.shift.login('1002', {}, agent).then(() => undefined, (e: unknown) => e)
  t.equal(statik, undefined, '1002 at its own phone')
  const other = await h.shift.login('1001', {}, agent).then(() => undefined, (e: unknown) => e)
  t.match(other, { code: 'ALREADY_LOGGED_IN' }, 'logged in at another phone: log out first')
})

t.test('logout: QueueRemove from every queue it was added to; 409 ON_CALL during a call; during fixed ACW 202, done when ACW ends', async t => {
  const h = harness()
  await h.shift.login('1001', { interface: 'PJSIP/2001' }, agent)
  h.onCall.add('1001')
  await t.rejects(h.shift.logout('1001', agent), { code: 'ON_CALL', statusCode: 409 })
  t.equal(h.named('QueueRemove').length, 0)
  await h.callEnds('1001')
  t.ok(h.acw.entry('1001'), 'in ACW')
  t.same(await h.shift.logout('1001', agent), { pending: 'logout' })
  t.same(h.shift.nextOf('1001'), { logout: true })
  t.equal(h.named('QueueRemove').length, 0, 'nothing removed during ACW')
  await h.clock.advance(29_000)
  t.equal(h.named('QueueRemove').length, 0, 'still nothing a second before ACW ends')
  await h.clock.advance(1_000)
  await settle()
  t.same(h.named('QueueRemove').map(a => a.fields), [{ queue: 'pln123', iface: 'PJSIP/2001' }, { queue: 'vip', iface: 'PJSIP/2001' }], 'removed from both queues when ACW ended')
  t.equal(h.sessions.get('1001'), undefined, 'no session left')
  t.equal(h.acw.entry('1001'), undefined, 'ACW over')
  t.notOk(h.named('QueuePause').some(a => a.fields.paused === false), 'no unpause before the removal: no call could slip in')
})

t.test('pause: a reason of pauseReasons, else 400 listing the codes; QueuePause with the reason; over maxMinutes flagged', async t => {
  const h = harness()
  await h.shift.login('1001', {}, agent)
  const bad = await h.shift.pause('1001', 'NGOPI', agent).then(() => undefined, (e: unknown) => e)
  t.match(bad, { code: 'BAD_REQUEST', statusCode: 400, message: /allowed: ISTIRAHAT, SHOLAT, BRIEFING, TOILET/, details: { allowed: ['ISTIRAHAT', 'SHOLAT', 'BRIEFING', 'TOILET'] } })
  t.equal(h.named('QueuePause').length, 0)
  t.same(await h.shift.pause('1001', 'TOILET', agent), { done: true })
  t.same(h.named('QueuePause').map(a => a.fields), [{ iface: 'PJSIP/1001', paused: true, reason: 'TOILET' }])
  await settle()
  t.match(h.shift.pauseOf('1001'), { reason: 'TOILET', since: '2026-11-24T03:00:00.000Z' })
  t.match(h.sessions.get('1001'), { pauseReason: 'TOILET', pausedSince: '2026-11-24T03:00:00.000Z' }, 'kept with the session')
  h.clock.t += 5 * 60_000
  t.notOk(h.shift.overMax('1001'), 'at 5 minutes: not over')
  h.clock.t += 1000
  t.ok(h.shift.overMax('1001'), 'past TOILET\'s 5 minutes: flagged')
  await h.shift.ready('1001', agent)
  t.same(h.named('QueuePause').at(-1)?.fields, { iface: 'PJSIP/1001', paused: false, reason: undefined })
  t.equal(h.shift.pauseOf('1001'), undefined)
  t.notOk(h.shift.overMax('1001'))
})

t.test('a pause asked during a call or ACW is the next status: applied when ACW ends (instead of the unpause), never earlier', async t => {
  const h = harness()
  await h.shift.login('1001', {}, agent)
  h.onCall.add('1001')
  t.same(await h.shift.pause('1001', 'SHOLAT', agent), { next: { paused: true, reason: 'SHOLAT' } })
  t.equal(h.named('QueuePause').length, 0, 'nothing sent during the call')
  await h.callEnds('1001')
  t.same(h.named('QueuePause').map(a => a.fields), [{ iface: 'PJSIP/1001', paused: true, reason: 'ACW' }], 'ACW pauses as always')
  await t.rejects(h.shift.ready('1001', agent), { code: 'ACW_RUNNING', statusCode: 409 }, 'ready refused during fixed ACW')
  t.same(h.shift.nextOf('1001'), { paused: true, reason: 'SHOLAT' }, 'the next status is kept')
  await h.clock.advance(29_999)
  t.equal(h.named('QueuePause').length, 1, 'not a millisecond early')
  await h.clock.advance(1)
  await settle()
  t.same(h.named('QueuePause').slice(1).map(a => a.fields), [{ iface: 'PJSIP/1001', paused: true, reason: 'SHOLAT' }], 'SHOLAT instead of the unpause')
  t.equal(h.acw.entry('1001'), undefined, 'ACW over')
  t.equal(h.shift.nextOf('1001'), undefined, 'the next status is spent')
  t.match(h.shift.pauseOf('1001'), { reason: 'SHOLAT', since: '2026-11-24T03:00:30.000Z' }, 'paused since ACW ended')
  t.same(h.members.get('PJSIP/1001')?.reason, 'SHOLAT')
})

t.test('a pause asked during ACW, then ready during the call: early-exit ACW ends at once; a next status dropped by ready', async t => {
  const h = harness({ mode: 'early-exit' })
  await h.shift.login('1001', {}, agent)
  h.onCall.add('1001')
  await h.shift.pause('1001', 'BRIEFING', agent)
  await h.shift.ready('1001', agent)
  t.equal(h.shift.nextOf('1001'), undefined, 'ready during the call drops the next status')
  await h.callEnds('1001')
  await h.shift.ready('1001', agent)
  await settle()
  t.equal(h.acw.entry('1001'), undefined, 'early-exit: ready ends ACW')
  t.same(h.named('QueuePause').at(-1)?.fields, { iface: 'PJSIP/1001', paused: false, reason: 'ACW' }, 'unpaused')
})

t.test('a pause or unpause at the phone outside ACW is reflected, not undone', async t => {
  const h = harness()
  await h.shift.login('1002', {}, agent)
  const m = h.members.get('PJSIP/1002') as Member
  m.paused = true
  m.reason = 'ISTIRAHAT'
  h.shift.onMemberPause('1002', true, 'ISTIRAHAT')
  await settle()
  t.match(h.shift.pauseOf('1002'), { reason: 'ISTIRAHAT' })
  m.paused = false
  m.reason = ''
  h.shift.onMemberPause('1002', false, '')
  await settle()
  t.equal(h.shift.pauseOf('1002'), undefined)
  t.equal(h.named('QueuePause').length, 0, 'the service sent nothing back')
  h.shift.onMemberPause('1002', true, 'ACW')
  t.equal(h.shift.pauseOf('1002'), undefined, 'ACW\'s own pause is not a break')
})

t.test('after an Asterisk restart: logged-in agents added back, paused as they were', async t => {
  const h = harness()
  await h.shift.login('1001', { interface: 'PJSIP/2001', queues: ['vip'] }, agent)
  await h.shift.pause('1001', 'BRIEFING', agent)
  await settle()
  h.members.clear()
  h.actions.length = 0
  await h.shift.reapply()
  t.same(h.actions.map(a => [a.name, a.fields]), [
    ['QueueAdd', { queue: 'vip', iface: 'PJSIP/2001', memberName: 'Agent 1001', paused: true }],
    ['QueuePause', { iface: 'PJSIP/2001', paused: true, reason: 'BRIEFING' }]
  ])
  h.actions.length = 0
  await h.shift.reapply()
  t.same(h.actions.map(a => a.name), ['QueueAdd'], 'already there: nothing else')
})

t.test('a pause past its maxMinutes: an overMax event at that moment, the agent view and the metric flag it', async t => {
  const h = harness()
  await h.shift.login('1001', {}, agent)
  const alarms: Array<[string, string]> = []
  h.shift.on('overMax', (id, reason) => { alarms.push([id, reason]) })
  await h.shift.pause('1001', 'TOILET', agent)
  await h.clock.advance(5 * 60_000)
  t.same(alarms, [], 'not at 5 minutes')
  await h.clock.advance(1000)
  t.same(alarms, [['1001', 'TOILET']], 'past TOILET\'s 5 minutes, once')

  const st = { presence: 'online' as const, paused: true, pausedReason: 'TOILET' }
  const lookup = { loggedIn: (id: string) => h.shift.session(id) !== undefined, interfaceOf: (id: string) => h.shift.interfaceOf(id), pauseOf: (id: string) => h.shift.pauseOf(id), overMax: (id: string) => h.shift.overMax(id), nextOf: (id: string) => h.shift.nextOf(id) }
  t.match(agentView('1001', st, undefined, lookup), { state: 'paused', paused: true, pauseReason: 'TOILET', pausedSince: '2026-11-24T03:00:00.000Z', pauseOverMax: true, loggedOut: false, interface: 'PJSIP/1001' })
  t.notOk('pauseOverMax' in agentView('1002', { presence: 'offline', paused: false, pausedReason: '' }, undefined, lookup), 'not for an agent that is not paused')
  t.match(agentView('1002', { presence: 'offline', paused: false, pausedReason: '' }, undefined, lookup), { state: 'offline', loggedOut: true, paused: false })

  const ids = ['1001', '1002']
  const metrics = new ServiceMetrics({
    tracker: { on: () => undefined },
    transfers: { on: () => undefined },
    acw: { on: () => undefined, entry: () => undefined },
    ami: { on: () => undefined, status: () => ({ state: 'connected' }) as never },
    outbox: { stats: async () => ({ pending: 0, delivered: 0, dead: 0, oldestPendingAgeMs: null }) },
    agentIds: () => ids,
    agents: () => [],
    pauses: { overMax: id => h.shift.overMax(id) }
  })
  t.teardown(() => { metrics.close() })
  const text = await metrics.text()
  t.match(text, /pln123_agent_pause_over_max\{agent="1001"\} 1/)
  t.match(text, /pln123_agent_pause_over_max\{agent="1002"\} 0/)
  await h.shift.ready('1001', agent)
  t.match(await metrics.text(), /pln123_agent_pause_over_max\{agent="1001"\} 0/, 'cleared by ready')
  ids.push('1009')
  t.match(await metrics.text(), /pln123_agent_pause_over_max\{agent="1009"\} 0/, 'an agent added at run time gets its series at the next scrape')
})

t.test('an agent without a phone of its own: login names one; pause before that is NOT_LOGGED_IN, not "no agent"', async t => {
  const h = harness()
  await t.rejects(h.shift.pause('1009', 'TOILET', agent), { code: 'NOT_LOGGED_IN', message: /no phone of its own/ })
  await t.rejects(h.shift.ready('1009', agent), { code: 'NOT_LOGGED_IN' })
  await t.rejects(h.shift.login('1009', {}, agent), { code: 'BAD_REQUEST', message: /interface: agent 1009 has no phone of its own/ })
  t.same(h.actions, [], 'nothing reached the PBX')
  await h.shift.login('1009', { interface: 'PJSIP/1009' }, agent)
  t.equal(h.shift.interfaceOf('1009'), 'PJSIP/1009', 'the phone of today')
  await h.shift.pause('1009', 'TOILET', agent)
  t.same(h.actions.map(a => a.name), ['QueueAdd', 'QueuePause'])
})

t.test('an Asterisk restart during ACW: added back paused for ACW, so ACW still ends with the unpause', async t => {
  const h = harness()
  await h.shift.login('1002', { interface: 'PJSIP/2002' }, agent)
  h.onCall.add('1002')
  await h.callEnds('1002')
  h.members.clear()
  h.actions.length = 0
  await h.shift.reapply()
  await h.acw.reapply()
  await settle()
  t.same(h.actions.map(a => [a.name, a.fields]), [
    ['QueueAdd', { queue: 'pln123', iface: 'PJSIP/2002', memberName: 'PJSIP/2002', paused: true }],
    ['QueuePause', { iface: 'PJSIP/2002', paused: true, reason: 'ACW' }]
  ], 'paused with ACW\'s reason, not a reasonless pause')
  await h.clock.advance(30_000)
  await settle()
  t.same(h.actions.at(-1), { name: 'QueuePause', fields: { iface: 'PJSIP/2002', paused: false, reason: 'ACW' } }, 'unpaused when ACW ends')
  t.equal(h.members.get('PJSIP/2002')?.paused, false, 'free for the next call')
})

t.test('a transfer that did not happen: the hold ends with the agent still on the call, the next status waits for ACW', async t => {
  const h = harness()
  await h.shift.login('1001', {}, agent)
  h.onCall.add('1001')
  await h.shift.pause('1001', 'ISTIRAHAT', agent)
  h.acw.holdForTransfer('1001', 'call-1001')()
  await settle()
  await h.acw.releaseHold('1001')
  await settle()
  t.same(h.named('QueuePause').map(a => [a.fields.paused, a.fields.reason]), [[true, 'ACW'], [false, 'ACW']], 'held, then unpaused: back on the call')
  t.same(h.shift.nextOf('1001'), { paused: true, reason: 'ISTIRAHAT' }, 'the next status is kept')
  await h.callEnds('1001')
  await h.clock.advance(30_000)
  await settle()
  t.same(h.named('QueuePause').at(-1)?.fields, { iface: 'PJSIP/1001', paused: true, reason: 'ISTIRAHAT' }, 'applied when the ACW after the call ends')
})
