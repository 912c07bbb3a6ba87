// The agent leg is what a BlindTransfer moves: a resync's live leg replaces a stale one
// (a CTI event's, or a leg from before a restart), and a CTI event never replaces one
// Asterisk reported.
import t from 'tap'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import { silentLog } from '../../src/log.ts'

const agents = [
  { id: '1001', interface: 'Local/1001@agents/n', queues: ['pln123'] },
  { id: '1002', interface: 'PJSIP/1002', queues: ['pln123'] }
]
const snap = (channel: string, linkedid: string, bridgeId: string) => ({ channel, linkedid, bridgeId, application: 'AppDial', context: 'agents', exten: '1001', callerIdNum: '0811', callerIdName: '' })

t.test('after a resync the live agent leg replaces a stale one', async t => {
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog)
  tracker.onCti({ type: 'call.offered', callId: 'rs-1', data: { customerChannel: 'PJSIP/trunk-rs-1' } })
  tracker.onCti({ type: 'call.answered', callId: 'rs-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-stale;1' } })
  t.equal(tracker.get('rs-1')?.agentChannel, 'Local/1001@agents-stale;1')
  tracker.resync([snap('PJSIP/trunk-rs-1', 'rs-1', 'b-1'), snap('Local/1001@agents-live;1', 'rs-1', 'b-1')], [])
  t.equal(tracker.get('rs-1')?.agentChannel, 'Local/1001@agents-live;1', 'the live leg')
  t.equal(tracker.get('rs-1')?.state, 'connected')
  t.equal(tracker.agentStatus('1001')?.callId, 'rs-1', 'the agent still on the call')
  tracker.onCti({ type: 'call.answered', callId: 'rs-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-stale;1' } })
  t.equal(tracker.get('rs-1')?.agentChannel, 'Local/1001@agents-live;1', 'a CTI event after it does not bring the stale leg back')
})

t.test('isAgentLeg: the channel must reach the agent\'s own device', async t => {
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog)
  t.ok(tracker.isAgentLeg('1001', 'Local/1001@agents-0000001b;1'))
  t.notOk(tracker.isAgentLeg('1001', 'Local/1001@agents-0000001b;2'), 'the other half')
  t.notOk(tracker.isAgentLeg('1001', 'PJSIP/1002-00000001'), 'another agent\'s')
  t.notOk(tracker.isAgentLeg('1001', 'Local/10011@agents-0000001b;1'), 'a longer extension that starts the same')
  t.notOk(tracker.isAgentLeg('1001', 'PJSIP/trunk-00000001'), 'a trunk (the customer)')
  t.ok(tracker.isAgentLeg('1002', 'PJSIP/1002-00000001'))
})
