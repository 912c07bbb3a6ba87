// The wrap-up feature: the service that records and closes a call's wrap-up, fed by the
// tracker (a call's end, an agent's release) and by ACW's end; its queue_log lines go
// out through AMI QueueLog like ACW's.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { AcwService } from '../acw/service.ts'
import type { AmiWiring } from './ami.ts'
import type { CallsWiring } from './calls.ts'
import type { StoreWiring } from './store.ts'
import { listenForWindowEnds, WrapupService } from '../wrapup/service.ts'
import type { ShiftAgent } from '../agents/shift.ts'

export function wireWrapup (config: Config, logger: Logger, { audit }: StoreWiring, { ami }: AmiWiring, { tracker }: CallsWiring, acw: AcwService, today: (agentId: string) => ShiftAgent | undefined): WrapupService {
  const wrapups = new WrapupService({
    calls: { get: id => tracker.get(id), recall: async id => await tracker.recall(id) },
    lifecycle: tracker.lifecycle,
    acwOf: id => acw.entry(id),
    codes: { codes: config.wrapupCodes, defaultCode: config.wrapupDefault },
    audit,
    log: logger.child({ module: 'wrapup' }),
    now: () => new Date(),
    // The agent with its phone of today: the same MemberName its QueueAdd and ACW's lines
    // use (memberName, else the interface), so queue_log readers see one name per agent.
    member: id => { const a = today(id); return a === undefined ? undefined : { name: a.memberName ?? a.interface ?? a.id, ...(a.queues[0] !== undefined ? { queue: a.queues[0] } : {}) } },
    queueLog: { async write (l) { await ami.action('QueueLog', { Queue: l.queue, Event: l.event, Interface: l.agent, UniqueID: l.callId, Message: l.data.join('|') }) } }
  })
  listenForWindowEnds(wrapups, { tracker, acw })
  return wrapups
}
