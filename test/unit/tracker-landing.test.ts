// Where a transferred customer landed, decided from AMI events as Asterisk 22 words them
// (seen on the sandbox, test/pbx/landing.test.ts): the customer's channel is the
// DialEnd's Channel; the queue's own Dials of that channel come before the transfer.
import t from 'tap'
import { normalizeEvent } from '../../src/ami/events.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import type { Call, Landing } from '../../src/calls/types.ts'
import { silentLog } from '../../src/log.ts'

const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

const agents = [{ id: '1001', interface: 'Local/1001@agents/n', queues: ['pln123'] }]

function transferredCall (callId: string) {
  const repo = new MemoryCallRepository()
  const tracker = new CallTracker(agents, repo, silentLog)
  const landed: Array<{ callId: string, landing: Landing }> = []
  tracker.on('landing', (call: Call, landing: Landing) => { landed.push({ callId: call.callId, landing }) })
  const customer = `Local/s@caller-${callId};1`
  const agent = `Local/1001@agents-${callId};1`
  const ami = (raw: Record<string, string>): void => { tracker.onAmi(normalizeEvent({ linkedid: callId, ...raw })) }
  ami({ event: 'AgentConnect', channel: customer, destchannel: agent, interface: 'Local/1001@agents/n', queue: 'pln123', calleridnum: '0811' })
  // app_queue's own Dial of the customer to the agent: not a landing.
  ami({ event: 'DialEnd', channel: customer, destchannel: agent, dialstatus: 'ANSWER' })
  const before = tracker.get(callId)
  ami({ event: 'BlindTransfer', result: 'Success', transfererchannel: agent, transfereechannel: customer, context: 'direct-transfer', extension: '3' })
  return { tracker, repo, landed, customer, ami, before }
}

t.test('the queue\'s Dial before the transfer is no landing; the transfer starts one, waiting', async t => {
  const s = transferredCall('l-1')
  t.equal(s.before?.state, 'connected')
  t.equal(s.before?.transfer, undefined, 'no landing while with the agent')
  t.equal(s.tracker.get('l-1')?.transfer?.landing?.status, 'waiting')
  t.same(s.landed, [], 'waiting is not counted')
})

t.test('DialEnd of the customer at the target: ANSWER, CANCEL, a failure', async t => {
  for (const [status, want, cause] of [['ANSWER', 'answered', undefined], ['CANCEL', 'abandoned', undefined], ['CHANUNAVAIL', 'failed', 'CHANUNAVAIL'], ['noanswer', 'failed', 'NOANSWER']] as const) {
    const s = transferredCall(`l-${status}`)
    s.ami({ event: 'DialEnd', channel: s.customer, destchannel: 'PJSIP/iconnet-0001', dialstatus: status })
    const landing = s.tracker.get(`l-${status}`)?.transfer?.landing
    t.equal(landing?.status, want, `${status}: ${want}`)
    t.equal(landing?.cause, cause, `${status}: cause ${cause ?? 'none'}`)
    t.equal((await s.repo.get(`l-${status}`))?.transfer?.landing?.status, want, 'saved')
    // The customer's channel then goes: the landing stays, it is counted once.
    s.ami({ event: 'Hangup', channel: s.customer, cause: '16', 'cause-txt': 'Normal Clearing' })
    t.equal((await s.repo.get(`l-${status}`))?.transfer?.landing?.status, want, 'unchanged by the hangup that follows')
    t.ok((await s.repo.get(`l-${status}`))?.endedAt, 'the call is over')
    t.same(s.landed.map(l => l.landing.status), [want], 'counted once')
  }
})

t.test('a final landing never changes: a second Dial answered after a failed one', async t => {
  const s = transferredCall('l-2')
  s.ami({ event: 'DialEnd', channel: s.customer, destchannel: 'PJSIP/iconnet-a', dialstatus: 'BUSY' })
  s.ami({ event: 'DialEnd', channel: s.customer, destchannel: 'PJSIP/iconnet-b', dialstatus: 'ANSWER' })
  t.equal(s.tracker.get('l-2')?.transfer?.landing?.status, 'failed', 'the first word stands')
  await settle() // a landing is counted once durable
  t.equal(s.landed.length, 1)
})

t.test('the customer\'s hangup while waiting: abandoned, or failed when its cause says the target failed', async t => {
  const a = transferredCall('l-3')
  a.ami({ event: 'Hangup', channel: a.customer, cause: '16', 'cause-txt': 'Normal Clearing' })
  t.equal((await a.repo.get('l-3'))?.transfer?.landing?.status, 'abandoned', 'hung up waiting')
  t.equal((await a.repo.get('l-3'))?.transfer?.landing?.cause, undefined)

  const b = transferredCall('l-4')
  b.ami({ event: 'Hangup', channel: b.customer, cause: '17', 'cause-txt': 'User busy' })
  t.same([(await b.repo.get('l-4'))?.transfer?.landing?.status, (await b.repo.get('l-4'))?.transfer?.landing?.cause], ['failed', 'BUSY'], 'Busy() run on the customer\'s own channel')
  t.same(b.landed.map(l => l.landing.status), ['failed'])
})

t.test('after a restart: a waiting landing whose customer is gone is abandoned; one bridged at the target is answered; a final one stays', async t => {
  const repo = new MemoryCallRepository()
  const at = '2026-12-02T07:00:00.000Z'
  const base = { state: 'transferred', offeredAt: at, source: 'ami', agentId: '1001', agentChannel: 'Local/1001@agents-x;1' } as const
  repo.save({ ...base, callId: 'r-gone', customerChannel: 'C/gone', transfer: { status: 'completed', target: 3, at, landing: { status: 'waiting', at, waitSeconds: 0 } } })
  repo.save({ ...base, callId: 'r-bridged', customerChannel: 'C/bridged', transfer: { status: 'completed', target: 3, at, landing: { status: 'waiting', at, waitSeconds: 0 } } })
  repo.save({ ...base, callId: 'r-ringing', customerChannel: 'C/ringing', transfer: { status: 'completed', target: 3, at, landing: { status: 'waiting', at, waitSeconds: 0 } } })
  repo.save({ ...base, callId: 'r-final', customerChannel: 'C/final', transfer: { status: 'completed', target: 3, at, landing: { status: 'failed', at, waitSeconds: 4, cause: 'BUSY' } } })
  repo.save({ ...base, callId: 'r-old', customerChannel: 'C/old', transfer: { status: 'completed', target: 3, at } })
  const tracker = new CallTracker(agents, repo, silentLog)
  const landed: string[] = []
  tracker.on('landing', (call: Call, landing: Landing) => { landed.push(`${call.callId}:${landing.status}`) })
  t.equal(await tracker.load(), 5)
  const ch = (channel: string, linkedid: string, bridgeId = '') => ({ channel, linkedid, bridgeId, application: bridgeId === '' ? 'Dial' : 'AppDial', context: 'direct-transfer', exten: '3', callerIdNum: '0811', callerIdName: '' })
  tracker.resync([ch('C/bridged', 'r-bridged', 'b-1'), ch('PJSIP/iconnet-1', 'r-bridged', 'b-1'), ch('C/ringing', 'r-ringing')], [])
  t.equal((await repo.get('r-gone'))?.transfer?.landing?.status, 'abandoned', 'gone while the service was away')
  t.ok((await repo.get('r-gone'))?.endedAt)
  t.equal((await repo.get('r-bridged'))?.transfer?.landing?.status, 'answered', 'bridged with ICONNET')
  t.equal((await repo.get('r-ringing'))?.transfer?.landing?.status, 'waiting', 'still ringing: still waiting')
  t.same((await repo.get('r-final'))?.transfer?.landing, { status: 'failed', at, waitSeconds: 4, cause: 'BUSY' }, 'a final landing kept as it was')
  t.equal((await repo.get('r-old'))?.transfer?.landing, undefined, 'a transfer from before landings were followed gets none')
  t.ok((await repo.get('r-old'))?.endedAt, 'and is over like before')
  t.same(landed.sort(), ['r-bridged:answered', 'r-gone:abandoned'])
})

t.test('the target answers before Asterisk\'s BlindTransfer event is heard: the landing is answered once the call is transferred', async t => {
  const repo = new MemoryCallRepository()
  const tracker = new CallTracker(agents, repo, silentLog)
  const callId = 'l-early'
  const customer = `Local/s@caller-${callId};1`
  const agent = `Local/1001@agents-${callId};1`
  const ami = (raw: Record<string, string>): void => { tracker.onAmi(normalizeEvent({ linkedid: callId, ...raw })) }
  ami({ event: 'AgentConnect', channel: customer, destchannel: agent, interface: 'Local/1001@agents/n', queue: 'pln123', calleridnum: '0811' })
  tracker.lifecycle.startTransfer(callId, 3, new Date().toISOString(), () => {})
  ami({ event: 'DialEnd', channel: customer, destchannel: 'Local/answer@iconnet-cc-0001;1', dialstatus: 'ANSWER' })
  t.equal(tracker.get(callId)?.state, 'transferring', 'the press still waits for the BlindTransfer event')
  ami({ event: 'BlindTransfer', result: 'Success', transfererchannel: agent, transfereechannel: customer, context: 'direct-transfer', extension: '3' })
  t.equal(tracker.get(callId)?.state, 'transferred')
  t.equal((await repo.get(callId))?.transfer?.landing?.status, 'answered', 'answered, not left waiting for a DialEnd already heard')
})
