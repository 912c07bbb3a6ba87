// The ACW feature: deadlines after a call, pause/unpause through the AMI (QueuePause),
// fed by the tracker's 'released' and 'memberPause' events. Its outcome effect starts
// the deadline of an agent whose transfer landed.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { Failpoint } from '../failpoints.ts'
import type { AmiWiring } from './ami.ts'
import type { CallsWiring } from './calls.ts'
import type { StoreWiring } from './store.ts'
import { AcwService, type AcwAgent } from '../acw/service.ts'
import { systemClock } from '../acw/types.ts'
import type { OutcomeEffect } from '../calls/outcome-effects.ts'
import { JournaledAcwRepository } from '../store/acw-records.ts'
import { orderedQueueLog } from './queue-log-order.ts'

/** How long an ACWSTART waits for app_queue's AgentComplete of its call (it normally follows the Hangup within milliseconds). */
const QUEUE_COMPLETE_WAIT_MS = 2000

export interface AcwWiring { acw: AcwService, deadlineEffect: OutcomeEffect }

/**
 * `agents.today`: the agent with its interface of today (what ACW pauses); `agents.afterAcw`:
 * the status the agent asked for meanwhile, done at ACW's end instead of the unpause (src/agents/shift.ts).
 */
export interface AcwAgents { today: (agentId: string) => AcwAgent | undefined, afterAcw: (agentId: string) => Promise<boolean> | undefined }

export function wireAcw (config: Config, logger: Logger, { store, journal, audit }: StoreWiring, { ami }: AmiWiring, { tracker }: CallsWiring, agents?: AcwAgents, failpoint?: Failpoint): AcwWiring {
  const acw = new AcwService({
    repo: new JournaledAcwRepository(journal, store.acw),
    pbx: { async setPaused (iface, paused, reason) { await ami.action('QueuePause', { Interface: iface, Paused: paused ? 'true' : 'false', ...(paused ? { Reason: reason } : {}) }) } },
    clock: systemClock,
    log: logger.child({ module: 'acw' }),
    audit,
    agents: agents?.today ?? config.agents,
    ...(agents !== undefined ? { afterAcw: agents.afterAcw } : {}),
    settings: config.acw,
    pauseOf: id => { const st = tracker.agentStatus(id); return st === undefined ? undefined : { paused: st.paused, reason: st.pausedReason } },
    onCall: id => tracker.agentStatus(id)?.callId !== undefined,
    confirmTimeoutMs: config.ami.actionTimeoutMs,
    retry: config.ami.reconnect, // a refused unpause is tried again at the pace of an AMI reconnect
    queueLog: orderedQueueLog(tracker, { async write (e) { await ami.action('QueueLog', { Queue: e.queue, Event: e.event, Interface: e.agent, UniqueID: e.callId, Message: e.data.join('|') }) } }, QUEUE_COMPLETE_WAIT_MS),
    ...(failpoint !== undefined ? { failpoint } : {})
  })
  tracker.on('released', (agentId, call, reason) => {
    failpoint?.('acw:released')
    acw.onReleased(agentId, call.callId, call.queue, reason)
  })
  tracker.on('memberPause', (agentId, paused, reason) => acw.onPauseEvent(agentId, paused, reason))
  const deadlineEffect: OutcomeEffect = (call, outcome) => { if (outcome === 'transferred' && call.agentId !== undefined) acw.recordTransferred(call.agentId, call.callId) }
  return { acw, deadlineEffect }
}
