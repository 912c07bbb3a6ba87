// The calls feature: the tracker (a call's lifecycle, loaded from the store), the
// inquiry service (the routing policy applied to a call), the resync from Asterisk's
// live picture, and the one hook of the AMI event path: each event goes to the tracker. From there a call's walk to its APKT record stays in the
// domain (src/calls/lifecycle.ts, the outcome effects); it does not come back here.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { AmiWiring } from './ami.ts'
import type { StoreWiring } from './store.ts'
import { CallTracker, type AgentLookup } from '../calls/tracker.ts'
import { InquiryService } from '../calls/inquiry.ts'
import { resyncFromPbx } from '../calls/resync.ts'
import { loadPolicies } from '../policy/index.ts'
import { JournaledCallRepository } from '../store/call-records.ts'

export interface CallsWiring {
  tracker: CallTracker
  inquiries: InquiryService
  /** Rebuilds the call picture from Asterisk's channels and queue members; false if they could not be read. */
  resync: () => Promise<boolean>
}

/** `agents`: the agents and each one's interface of today (src/wiring/shift.ts); config.agents when left out. */
export async function wireCalls (config: Config, logger: Logger, { store, journal }: StoreWiring, { ami, livePicture }: AmiWiring, agents?: AgentLookup): Promise<CallsWiring> {
  const policy = loadPolicies(config.policy.dir)
  const callsLog = logger.child({ module: 'calls' })
  const tracker = new CallTracker(agents ?? config.agents, new JournaledCallRepository(journal, store.calls), callsLog)
  await tracker.load()
  const transferTarget = (index: number) => config.directory.find(d => d.index === index)
  ami.on('event', ev => {
    try {
      tracker.onAmi(ev)
    } catch (err) {
      // A bug in one event's handling must not stop the event path (nor the process).
      callsLog.error({ err, event: ev.event }, 'AMI event not handled')
    }
  })
  return {
    tracker,
    inquiries: new InquiryService(tracker, policy),
    resync: async () => await resyncFromPbx(livePicture, tracker, callsLog, transferTarget)
  }
}
