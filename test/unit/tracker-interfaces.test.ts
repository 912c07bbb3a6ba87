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
