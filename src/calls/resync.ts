// After every AMI (re)connect: list live channels and queue members and let the
// tracker rebuild who is talking to whom (a restart mid-call, or events missed
// while disconnected). The PBX's lists come already translated (src/ami/snapshots.ts).
import type { Log } from '../log.ts'
import type { CallTracker, TransferTarget } from './tracker.ts'
import type { ChannelSnapshot, MemberSnapshot } from './types.ts'

/** What a resync reads from the PBX; the AMI adapter provides it (pbxSnapshots). */
export interface LivePicture {
  channels: () => Promise<ChannelSnapshot[]>
  members: () => Promise<MemberSnapshot[]>
}

/** `targetOf` names where a Direct Transfer entry puts the customer, to settle transfers in flight. */
/** True once done; false when the PBX's lists could not be read (the caller tries again). */
export async function resyncFromPbx (pbx: LivePicture, tracker: CallTracker, log: Log, targetOf?: (index: number) => TransferTarget | undefined): Promise<boolean> {
  try {
    const asOf = tracker.newsMark()
    const [channels, members] = await Promise.all([pbx.channels(), pbx.members()])
    const result = tracker.resync(channels, members, targetOf, asOf)
    log.info({ resync: result, channels: channels.length }, 'call state resynced from Asterisk')
    return true
  } catch (err) {
    // A failed resync leaves the old picture until one succeeds (repair.ts tries again).
    log.warn({ err: { message: (err as Error).message } }, 'resync from Asterisk failed')
    return false
  }
}
