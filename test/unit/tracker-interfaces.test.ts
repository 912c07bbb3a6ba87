// The tracker matches channels and queue members with each agent's interface of today,
// read through a lookup: after a login at another phone (refreshAgents), calls at that
// phone are the agent's; an agent logged in at a phone wins over another configured there.
import t from 'tap'
import { CallTracker, type TrackedAgent } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import { silentLog } from '../../src/log.ts'

t.test('a login at another phone: its legs and members are the agent\'s once the tracker re-reads the lookup', async t => {
  const configured: TrackedAgent[] = [
    { id: '1001', interface: 'PJSIP/1001', queues: ['pln123'] },
    { id: '1002', interface: 'PJSIP/1002', queues: ['pln123'] }
  ]
  const sessions = new Map<string, string>()
  const tracker = new CallTracker({
    ids: () => configured.map(a => a.id),
    get: id => { const a = configured.find(x => x.id === id); const s = sessions.get(id); return a === undefined || s === undefined ? a : { ...a, interface: s } },
    loggedIn: id => sessions.has(id)
  }, new MemoryCallRepository(), silentLog)
  t.ok(tracker.isAgentLeg('1001', 'PJSIP/1001-00000001'))
  t.notOk(tracker.isAgentLeg('1001', 'PJSIP/2001-00000001'))

  sessions.set('1001', 'PJSIP/2001')
  t.notOk(tracker.isAgentLeg('1001', 'PJSIP/2001-00000001'), 'not before the tracker re-reads (the maps are worked out once)')
  tracker.refreshAgents()
  t.ok(tracker.isAgentLeg('1001', 'PJSIP/2001-00000001'), 'the phone of the login')
  t.notOk(tracker.isAgentLeg('1001', 'PJSIP/1001-00000001'), 'no longer the configured one')
  tracker.onAmi({ known: true, event: 'QueueMemberAdded', queue: 'pln123', interface: 'PJSIP/2001', memberName: 'Agent 1001', status: 1, paused: false, pausedReason: '' } as never)
  t.equal(tracker.agentStatus('1001')?.presence, 'online', 'its QueueMemberAdded is matched')

  // 1002 logs in at 1001's configured phone (1001 sits elsewhere): events there are 1002's.
  sessions.set('1002', 'PJSIP/1001')
  sessions.delete('1001')
  tracker.refreshAgents()
  t.ok(tracker.isAgentLeg('1002', 'PJSIP/1001-00000002'), 'the logged-in agent wins over the one configured there')
  t.notOk(tracker.isAgentLeg('1001', 'PJSIP/1001-00000002'))
  tracker.memberGone('1001')
  t.equal(tracker.agentStatus('1001')?.presence, 'offline', 'memberGone: offline whatever events name its old phone')
})

t.test('a resync\'s member list older than an event read with it: the event\'s state stays, the list fills in the rest', async t => {
  const configured: TrackedAgent[] = [
    { id: '1001', interface: 'PJSIP/1001', queues: ['pln123'] },
    { id: '1002', interface: 'PJSIP/1002', queues: ['pln123'] }
  ]
  const tracker = new CallTracker({ ids: () => configured.map(a => a.id), get: id => configured.find(x => x.id === id), loggedIn: () => false }, new MemoryCallRepository(), silentLog)
  const member = (iface: string, paused: boolean, reason = ''): { interface: string, status: number, paused: boolean, pausedReason: string, inCall: boolean } =>
    ({ interface: iface, status: 1, paused, pausedReason: reason, inCall: false })

  // The lists are asked for; QueueStatus comes back (nobody paused), then, in the same
  // read, ACW's pause of 1001; CoreShowChannels last, and the picture is applied.
  const asOf = tracker.newsMark()
  tracker.onAmi({ known: true, event: 'QueueMemberPause', queue: 'pln123', interface: 'PJSIP/1001', memberName: '1001', status: 1, paused: true, pausedReason: 'ACW' } as never)
  tracker.resync([], [member('PJSIP/1001', false), member('PJSIP/1002', true, 'Istirahat')], undefined, asOf)
  t.match(tracker.agentStatus('1001'), { presence: 'online', paused: true, pausedReason: 'ACW' }, 'the pause that came after the list is kept')
  t.match(tracker.agentStatus('1002'), { presence: 'online', paused: true, pausedReason: 'Istirahat' }, 'an agent with no newer event takes the list\'s state')

  // The next resync's list is newer than that event: it is taken as it is.
  const next = tracker.newsMark()
  tracker.resync([], [member('PJSIP/1001', false)], undefined, next)
  t.match(tracker.agentStatus('1001'), { paused: false, pausedReason: '' }, 'a list asked for after the event wins')
})

t.test('a call offered and answered after a resync\'s lists were asked for is not ended by those older lists', async t => {
  const configured: TrackedAgent[] = [{ id: '1001', interface: 'PJSIP/1001', queues: ['pln123'] }]
  const tracker = new CallTracker({ ids: () => configured.map(a => a.id), get: id => configured.find(x => x.id === id), loggedIn: () => false }, new MemoryCallRepository(), silentLog)
  tracker.onCti({ type: 'call.offered', callId: 'old-1', data: { customerChannel: 'PJSIP/trunk-old-1' } })
  tracker.onCti({ type: 'call.answered', callId: 'old-1', agentId: '1001', data: { agentChannel: 'PJSIP/1001-00000001' } })

  // The lists are asked for (after a reconnect: old-1 ended while we could not see);
  // meanwhile the dialplan offers a new call. The channel list has neither.
  const asOf = tracker.newsMark()
  tracker.onCti({ type: 'call.offered', callId: 'new-1', data: { customerChannel: 'PJSIP/trunk-new-1' } })
  const result = tracker.resync([], [], undefined, asOf)
  t.equal(result.ended, 1, 'one call ended by the resync')
  t.equal(tracker.get('old-1')?.state, 'ended', 'the call known before the lists, and not in them, ended while unseen')
  t.equal(tracker.get('new-1')?.state, 'offered', 'the call offered after the lists were asked for is left as its events say')

  tracker.onCti({ type: 'call.answered', callId: 'new-1', agentId: '1001', data: { agentChannel: 'PJSIP/1001-00000002' } })
  tracker.resync([], [], undefined, tracker.newsMark() - 1)
  t.equal(tracker.get('new-1')?.state, 'connected', 'answered after the lists: still connected')
  t.equal(tracker.agentStatus('1001')?.callId, 'new-1', 'and its agent on it')
  tracker.resync([], [], undefined, tracker.newsMark())
  t.equal(tracker.get('new-1')?.state, 'ended', 'lists asked for after its last news judge it: gone from them, ended')
})
