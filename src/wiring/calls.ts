// The calls feature: the tracker (a call's lifecycle, loaded from the store), the
// inquiry service (the routing policy applied to a call), the resync from Asterisk's
// live picture, and the one hook of the AMI event path: each event goes to the tracker. From there a call's walk to its APKT record stays in the
// domain (src/calls/lifecycle.ts, the outcome effects); it does not come back here.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { AgentDirectory } from '../agents/directory.ts'
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

/**
 * `agents`: the agents (the directory's) and each one's interface of today (src/wiring/shift.ts);
 * `directory`: told when agents are added, changed or removed at run time (admin API, CLI, another instance).
 */
export async function wireCalls (config: Config, logger: Logger, { store, journal }: StoreWiring, { ami, livePicture }: AmiWiring, agents: AgentLookup, directory: AgentDirectory): Promise<CallsWiring> {
  // A topic's wrap-up code is checked against the config's codes here, at start.
  const policy = loadPolicies(config.policy.dir, { wrapupCodes: config.wrapupCodes.map(w => w.code) })
  const callsLog = logger.child({ module: 'calls' })
  const tracker = new CallTracker(agents, new JournaledCallRepository(journal, store.calls), callsLog)
  const follow = (): void => { tracker.refreshAgents() }
  directory.on('added', follow)
  directory.on('changed', follow)
  directory.on('removed', follow)
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
