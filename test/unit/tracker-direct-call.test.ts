// A call that reaches an agent's device outside the queue (a direct dial: BridgeEnter of
// the agent's channel with no AgentConnect) makes the agent busy, and only that: the
// customer's own BridgeEnter, the second half of a Local channel, another device, or a
// call already known change nothing.
import t from 'tap'
import { normalizeEvent } from '../../src/ami/events.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import { silentLog } from '../../src/log.ts'

const agents = [
  { id: '1001', interface: 'PJSIP/1001', queues: ['pln123'] },
  { id: '1002', interface: 'Local/1002@agents/n', queues: ['pln123'] }
]
const bridgeEnter = (channel: string, linkedid: string) => normalizeEvent({ event: 'BridgeEnter', channel, linkedid, uniqueid: linkedid, calleridnum: '0811', bridgeuniqueid: `b-${linkedid}`, bridgenumchannels: '2' })

t.test('BridgeEnter of an agent device with no AgentConnect: a connected call for that agent', async t => {
  const tracker = new CallTracker(agents, new MemoryCallRepository(), silentLog)
  tracker.onAmi(bridgeEnter('PJSIP/trunk-0000001', 'd-1'))
  t.equal(tracker.get('d-1'), undefined, 'a channel of no agent: nothing')
  tracker.onAmi(bridgeEnter('Local/1002@agents-0000001b;2', 'd-2'))
  t.equal(tracker.get('d-2'), undefined, 'the ;2 half of a Local channel: nothing')
  tracker.onAmi(bridgeEnter('PJSIP/1001-0000002a', 'd-3'))
  t.match(tracker.get('d-3'), { state: 'connected', agentId: '1001', agentChannel: 'PJSIP/1001-0000002a' })
  t.equal(tracker.agentStatus('1001')?.callId, 'd-3', 'the agent is on it')
  tracker.onAmi(bridgeEnter('Local/1002@agents-0000001c;1', 'd-3'))
  t.equal(tracker.agentStatus('1002')?.callId, undefined, 'a call already known is not given to a second agent')
  tracker.onAmi(bridgeEnter('Local/1002@agents-0000001d;1', 'd-4'))
  t.match(tracker.get('d-4'), { state: 'connected', agentId: '1002' }, 'the ;1 half of a Local member')
  tracker.onAmi(bridgeEnter('PJSIP/1001-0000002f', 'd-5'))
  t.equal(tracker.get('d-5'), undefined, 'an agent already on a call gets no second one')
})
