// The service's ACW lines in queue_log after app_queue's line for the end of the call
// (src/wiring/queue-log-order.ts). The sandbox showed ACWSTART above COMPLETECALLER once
// the service answered a Hangup faster than app_queue wrote its line.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { orderedQueueLog } from '../../src/wiring/queue-log-order.ts'
import type { QueueLogEntry } from '../../src/acw/types.ts'

function setup (waitMs = 1000): { written: string[], emitter: EventEmitter, log: ReturnType<typeof orderedQueueLog>, calls: Map<string, { queue?: string }> } {
  const written: string[] = []
  const emitter = new EventEmitter()
  const calls = new Map<string, { queue?: string }>([['q1', { queue: 'pln123' }], ['q2', { queue: 'pln123' }], ['direct', {}]])
  const tracker = { on: (e: 'queueComplete', l: (callId: string) => void) => emitter.on(e, l), get: (id: string) => calls.get(id) }
  const log = orderedQueueLog(tracker, { async write (e) { written.push(`${e.event} ${e.callId} ${e.agent}`) } }, waitMs)
  return { written, emitter, log, calls }
}
const line = (event: QueueLogEntry['event'], callId: string, agent = 'Agent 1001'): QueueLogEntry => ({ queue: 'pln123', callId, agent, event, data: [] })

t.test('an ACWSTART for a queue call waits for app_queue\'s AgentComplete of that call', async t => {
  const { written, emitter, log } = setup()
  const start = log.write(line('ACWSTART', 'q1'))
  await sleep(30)
  t.same(written, [], 'not written before app_queue is done with the call')
  emitter.emit('queueComplete', 'q1')
  await start
  t.same(written, ['ACWSTART q1 Agent 1001'], 'written once app_queue is done')
})

t.test('AgentComplete already seen, or a call outside the queue: written at once', async t => {
  const { written, emitter, log } = setup()
  emitter.emit('queueComplete', 'q2')
  await log.write(line('ACWSTART', 'q2'))
  await log.write(line('ACWSTART', 'direct', 'Agent 1002'))
  await log.write(line('ACWSTART', 'NONE', 'Agent 1003'))
  t.same(written, ['ACWSTART q2 Agent 1001', 'ACWSTART direct Agent 1002', 'ACWSTART NONE Agent 1003'])
})

t.test('no AgentComplete: written after the wait, not lost; the agent\'s ACWEND stays behind it, another agent does not wait', async t => {
  const { written, log } = setup(80)
  const t0 = performance.now()
  const start = log.write(line('ACWSTART', 'q1'))
  const end = log.write(line('ACWEND', 'q1'))
  await log.write(line('ACWEND', 'direct', 'Agent 1002'))
  t.same(written, ['ACWEND direct Agent 1002'], 'another agent\'s line is not held')
  await Promise.all([start, end])
  t.ok(performance.now() - t0 >= 75, 'the ACWSTART waited out the bound')
  t.same(written.slice(1), ['ACWSTART q1 Agent 1001', 'ACWEND q1 Agent 1001'], 'then written, ACWEND after its ACWSTART')
})

t.test('a line that fails is the caller\'s to see, and does not block the agent\'s next one', async t => {
  const written: string[] = []
  let fail = true
  const log = orderedQueueLog({ on: () => undefined, get: () => undefined }, { async write (e) { if (fail) { fail = false; throw new Error('AMI down') } written.push(e.event) } }, 50)
  await t.rejects(log.write(line('ACWSTART', 'x')), /AMI down/)
  await log.write(line('ACWEND', 'x'))
  t.same(written, ['ACWEND'])
})
