// app_queue's AgentComplete says it is done with the agent's call (its queue_log line
// is written) and who hung up. When the caller is gone before app_queue publishes it,
// Asterisk 22 sends it with no channel fields at all (seen on the sandbox: only Queue,
// Interface, MemberName, HoldTime, TalkTime, Reason); it is about the agent's call.
import t from 'tap'
import { normalizeEvent } from '../../src/ami/events.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import { silentLog } from '../../src/log.ts'

const agents = [{ id: '1001', interface: 'Local/1001@agents/n', queues: ['pln123'] }]
const connect = (linkedid: string) => normalizeEvent({ event: 'AgentConnect', channel: `PJSIP/trunk-${linkedid}`, linkedid, uniqueid: linkedid, calleridnum: '0811', queue: 'pln123', interface: 'Local/1001@agents/n', membername: 'Agent 1001', destchannel: `Local/1001@agents-${linkedid};1`, destlinkedid: linkedid })
const bare = (reason: string) => normalizeEvent({ event: 'AgentComplete', privilege: 'agent,all', queue: 'pln123', interface: 'Local/1001@agents/n', membername: 'Agent 1001', holdtime: '0', talktime: '0', reason })

t.test('a bare AgentComplete after the Hangup: about the call the agent was released from', async t => {
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog)
  const done: string[] = []
  tracker.on('queueComplete', id => done.push(id))
  tracker.onAmi(connect('c-1'))
  tracker.onAmi(normalizeEvent({ event: 'Hangup', channel: 'Local/1001@agents-c-1;1', linkedid: 'c-1', uniqueid: 'c-1.1', cause: '16' }))
  t.equal(tracker.agentStatus('1001')?.callId, undefined, 'released by the Hangup')
  tracker.onAmi(normalizeEvent({ event: 'Hangup', channel: 'PJSIP/trunk-c-1', linkedid: 'c-1', uniqueid: 'c-1', cause: '16' }))
  t.equal(tracker.get('c-1')?.state, 'ended')
  tracker.onAmi(bare('caller'))
  t.same(done, ['c-1'], 'app_queue done with c-1')
  t.equal(tracker.get('c-1')?.endReason, 'caller hung up', 'app_queue\'s word on who hung up reaches the call')
})

t.test('a bare AgentComplete while the agent is still on the call: that call, and the agent is released', async t => {
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog)
  const done: string[] = []
  const released: string[] = []
  tracker.on('queueComplete', id => done.push(id))
  tracker.on('released', (_agent, call) => released.push(call.callId))
  tracker.onAmi(connect('c-2'))
  tracker.onAmi(bare('caller'))
  t.same(done, ['c-2'])
  t.same(released, ['c-2'])
})

t.test('a bare AgentComplete of an agent never on a call: nothing', async t => {
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog)
  const done: string[] = []
  tracker.on('queueComplete', id => done.push(id))
  tracker.onAmi(bare('agent'))
  t.same(done, [])
})
