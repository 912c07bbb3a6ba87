// The reports' recording side (CONTRACT.md section 8): the facts made from the AMI
// events, the call changes (inside their transactions), ACW's ends and the members'
// pauses, written through the journal (so they join the commit of what caused them),
// and the last 15 minutes of the queue for the metrics. The queries are the store's
// (store.reports); the routes and the page are src/http/ and src/ui/.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { ServiceMetrics } from '../metrics/index.ts'
import { ReportFacts } from '../reports/facts.ts'
import { QueueWindow } from '../reports/window.ts'
import type { AcwService } from '../acw/service.ts'
import type { AmiWiring } from './ami.ts'
import type { CallsWiring } from './calls.ts'
import type { StoreWiring } from './store.ts'

export interface ReportsWiring { facts: ReportFacts, window: QueueWindow }

export function wireReports (config: Config, logger: Logger, { journal }: StoreWiring, { ami }: AmiWiring, { tracker }: CallsWiring, acw: AcwService, metrics: ServiceMetrics): ReportsWiring {
  const log = logger.child({ module: 'reports' })
  const window = new QueueWindow(config.reports.serviceLevelSeconds)
  const facts = new ReportFacts({
    sink: fact => {
      void journal.add({ kind: 'reportFact', fact })
      window.add(fact)
    },
    agentOf: callId => tracker.get(callId)?.agentId,
    acwPauseReasons: () => [config.acw.pauseReason]
  })
  // After the tracker's listener (src/wiring/calls.ts): an AgentConnect's call has its agent by then.
  ami.on('event', ev => {
    try { facts.onAmi(ev) } catch (err) { log.error({ err, event: ev.event }, 'report facts of an AMI event not made') }
  })
  // Inside the call's transaction: a bug here must not cost the call's change.
  tracker.setCallObservers([(prev, next) => {
    try { facts.onCallChange(prev, next) } catch (err) { log.error({ err, callId: next.callId }, 'report facts of a call change not made') }
  }])
  acw.on('ended', e => { facts.onAcwEnded(e) })
  tracker.on('memberPause', (agentId, paused, reason) => { facts.onMemberPause(agentId, paused, reason) })
  metrics.addQueueWindow(window)
  return { facts, window }
}
