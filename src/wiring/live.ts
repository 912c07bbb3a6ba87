// What watchers see: the live feed (GET /v1/events) fed by the tracker, ACW and the AMI
// session after each commit, the agent and call views the routes answer with, and the
// Prometheus metrics.
import type { AmiClient } from '../ami/index.ts'
import type { AcwService } from '../acw/service.ts'
import type { ShiftService } from '../agents/shift.ts'
import type { Outbox } from '../apkt/outbox.ts'
import { agentView } from '../calls/agents.ts'
import type { AgentView } from '../calls/types.ts'
import type { CallTracker } from '../calls/tracker.ts'
import type { Config } from '../config/schema.ts'
import { callView } from '../http/calls-routes.ts'
import type { LiveFeed } from '../live/feed.ts'
import { ServiceMetrics } from '../metrics/index.ts'
import type { TransferService } from '../transfer/service.ts'
import { wrapupView, type WrapupService } from '../wrapup/service.ts'

export interface LiveWiring {
  apktStatus: (recordId: string) => string | undefined
  view: (agentId: string) => AgentView | undefined
  /** Everything at once, for a client that just subscribed. */
  snapshot: () => Promise<unknown>
  metrics: ServiceMetrics
}

export interface LiveSources { feed: LiveFeed, tracker: CallTracker, acw: AcwService, shift?: ShiftService, ami: AmiClient, outbox: Outbox, transfers: TransferService, wrapups?: WrapupService }

export function wireLive (config: Config, { feed, tracker, acw, shift, ami, outbox, transfers, wrapups }: LiveSources): LiveWiring {
  const apktStatus = (id: string): string | undefined => outbox.knownStatus(id)
  const shiftView = shift === undefined
    ? undefined
    : { loggedIn: (id: string) => shift.session(id) !== undefined, interfaceOf: (id: string) => shift.interfaceOf(id), pauseOf: (id: string) => shift.pauseOf(id), overMax: (id: string) => shift.overMax(id), nextOf: (id: string) => shift.nextOf(id) }
  const view = (agentId: string) => { const st = tracker.agentStatus(agentId); return st === undefined ? undefined : agentView(agentId, st, acw, shiftView) }
  tracker.on('call', c => feed.publish('call', callView(c, apktStatus)))
  // An agent removed at run time has no view any more: watchers hear that it is gone.
  tracker.on('agent', id => feed.publish('agent', view(id) ?? { id, removed: true }))
  ami.on('state', () => feed.publish('ami', ami.status()))
  acw.on('change', id => feed.publish('agent', view(id)))
  // Once durable: a choice, and the final wrap-up when the window closes.
  wrapups?.on('wrapup', c => { if (c.wrapup !== undefined) feed.publish('wrapup', { callId: c.callId, ...(c.agentId !== undefined ? { agentId: c.agentId } : {}), ...wrapupView(c.wrapup) }) })
  shift?.on('change', id => feed.publish('agent', view(id)))
  // A break past its reason's maxMinutes: its own topic, so a dashboard can alert on it.
  shift?.on('overMax', (agentId, reason, since) => feed.publish('pause', { agentId, reason, since, overMax: true }))
  // The tracker's agents as they are now (the agent directory's, after each change).
  const agentViews = () => tracker.agentIds().map(view)
  const metrics = new ServiceMetrics({ tracker, transfers, acw, ami, outbox, agentIds: () => tracker.agentIds(), agents: agentViews, ...(shift !== undefined ? { pauses: { overMax: id => shift.overMax(id) } } : {}) })
  const snapshot = async () => ({
    agents: agentViews(),
    calls: tracker.liveCalls().map(c => callView(c, apktStatus)),
    ami: ami.status(),
    apkt: await outbox.stats()
  })
  return { apktStatus, view, snapshot, metrics }
}
