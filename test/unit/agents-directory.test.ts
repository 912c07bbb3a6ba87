// The agent directory (src/agents/directory.ts) and what follows it: the config's agents
// win over the store's copy, changes are announced once, and the tracker recognises the
// call of an agent added at run time (and forgets one removed).
import t from 'tap'
import { normalizeEvent } from '../../src/ami/events.ts'
import { AgentDirectory } from '../../src/agents/directory.ts'
import type { Agent } from '../../src/agents/types.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import { silentLog } from '../../src/log.ts'

const unit = { unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }
const cfg: Agent = { id: '1001', interface: 'PJSIP/1001', queues: ['pln123'], memberName: 'Agent 1001', ...unit }

t.test('config agents win over the store\'s copy; load, put and remove announce only what changed', async t => {
  const d = new AgentDirectory([cfg])
  const seen: string[] = []
  d.on('added', a => seen.push(`added ${a.id}`))
  d.on('changed', (a, b) => seen.push(`changed ${a.id} ${b.interface ?? '-'}->${a.interface ?? '-'}`))
  d.on('removed', a => seen.push(`removed ${a.id}`))
  d.load([{ ...cfg, interface: 'PJSIP/9999' }, { id: '2001', queues: ['pln123'], ...unit }], [
    { digest: 'd1', agentId: '2001', name: 't1', createdAt: 'x' },
    { digest: 'd9', agentId: 'gone', name: 'orphan', createdAt: 'x' }
  ])
  t.equal(d.get('1001')?.interface, 'PJSIP/1001', 'the config\'s agent, not the store\'s copy')
  t.ok(d.inConfig('1001'))
  t.notOk(d.inConfig('2001'))
  t.equal(d.token('d1')?.agentId, '2001')
  t.equal(d.token('d9'), undefined, 'a token of an unknown agent is not taken')
  t.strictSame(seen, ['added 2001'])

  const gen = d.generation
  d.put({ id: '2001', queues: ['pln123'], ...unit })
  t.strictSame(seen, ['added 2001'], 'the same agent again: nothing announced')
  d.put({ id: '2001', interface: 'PJSIP/2001', queues: ['pln123'], ...unit })
  t.ok(d.generation > gen, 'a local change moves the generation')
  d.remove('2001')
  t.equal(d.token('d1'), undefined, 'a removed agent\'s tokens go with it')
  d.load([], [])
  t.strictSame(seen, ['added 2001', 'changed 2001 -->PJSIP/2001', 'removed 2001'])
  t.strictSame(d.ids(), ['1001'], 'a config agent stays whatever the store says')
})

t.test('the tracker recognises the call of an agent added at run time, and forgets one removed', async t => {
  const d = new AgentDirectory([cfg])
  const tracker = new CallTracker(d.all(), new MemoryCallRepository(), silentLog)
  const follow = (): void => { tracker.setAgents(d.all()) }
  d.on('added', follow); d.on('changed', follow); d.on('removed', follow)
  const connect = (linkedid: string, iface: string, destChannel: string) => normalizeEvent({
    event: 'AgentConnect', queue: 'pln123', interface: iface, membername: iface, channel: `PJSIP/trunk-${linkedid}`, destchannel: destChannel,
    linkedid, uniqueid: linkedid, calleridnum: '0811', calleridname: 'Budi', holdtime: '2', ringtime: '1'
  })

  tracker.onAmi(connect('c-1', 'PJSIP/2001', 'PJSIP/2001-00000001'))
  t.equal(tracker.get('c-1'), undefined, 'before the agent exists its call is not taken')
  t.equal(tracker.agentStatus('2001'), undefined)

  d.put({ id: '2001', queues: ['pln123'], ...unit })
  t.strictSame(tracker.agentIds(), ['1001', '2001'])
  t.strictSame(tracker.agentStatus('2001'), { presence: 'offline', paused: false, pausedReason: '' }, 'tracked, offline')
  t.notOk(tracker.isAgentLeg('2001', 'PJSIP/2001-00000002'), 'no interface yet: no channel is its')

  d.put({ id: '2001', interface: 'PJSIP/2001', queues: ['pln123'], ...unit })
  tracker.onAmi(normalizeEvent({ event: 'QueueMemberStatus', queue: 'pln123', interface: 'PJSIP/2001', membername: 'PJSIP/2001', status: '1', paused: '0', pausedreason: '' }))
  t.equal(tracker.agentStatus('2001')?.presence, 'online', 'its queue member is heard')
  tracker.onAmi(connect('c-2', 'PJSIP/2001', 'PJSIP/2001-00000002'))
  t.equal(tracker.get('c-2')?.state, 'connected', 'its call is recognised')
  t.equal(tracker.get('c-2')?.agentId, '2001')
  t.equal(tracker.agentStatus('2001')?.callId, 'c-2')
  t.ok(tracker.isAgentLeg('2001', 'PJSIP/2001-00000002'))

  tracker.onAmi(normalizeEvent({ event: 'Hangup', channel: 'PJSIP/trunk-c-2', linkedid: 'c-2', uniqueid: 'c-2', cause: '16' }))
  t.equal(tracker.get('c-2')?.state, 'ended')
  d.remove('2001')
  t.equal(tracker.agentStatus('2001'), undefined, 'removed: no longer tracked')
  tracker.onAmi(connect('c-3', 'PJSIP/2001', 'PJSIP/2001-00000003'))
  t.equal(tracker.get('c-3'), undefined, 'and its interface no longer matched')
  t.equal(tracker.agentStatus('1001')?.presence, 'offline', 'the config agent untouched')
})
