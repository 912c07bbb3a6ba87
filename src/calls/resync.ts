// After every AMI (re)connect: list live channels and queue members and let the
// tracker rebuild who is talking to whom (a restart mid-call, or events missed
// while disconnected).
import type { AmiClient, AmiListResult } from '../ami/index.ts'
import type { Log } from '../log.ts'
import type { CallTracker, ChannelSnapshot, TransferTarget } from './tracker.ts'

/** CoreShowChannels' items as the tracker reads them. */
export function channelSnapshots (list: AmiListResult): ChannelSnapshot[] {
  return list.items.map(i => ({
    channel: i.fields.channel ?? '',
    linkedid: i.fields.linkedid ?? '',
    bridgeId: i.fields.bridgeid ?? '',
    application: i.fields.application ?? '',
    context: i.fields.context ?? '',
    exten: i.fields.exten ?? '',
    callerIdNum: i.fields.calleridnum ?? '',
    callerIdName: i.fields.calleridname ?? ''
  }))
}

/** `targetOf` names where a Direct Transfer entry puts the customer, to settle transfers in flight. */
export async function resyncFromAmi (ami: AmiClient, tracker: CallTracker, log: Log, onError?: (err: unknown) => void, targetOf?: (index: number) => TransferTarget | undefined): Promise<void> {
  try {
    const [channels, queues] = await Promise.all([ami.list('CoreShowChannels'), ami.list('QueueStatus')])
    const result = tracker.resync(
      channelSnapshots(channels),
      queues.items.filter(i => i.event === 'QueueMember').map(i => ({
        interface: i.fields.location ?? i.fields.stateinterface ?? '',
        status: Number(i.fields.status ?? 0),
        paused: i.fields.paused === '1',
        pausedReason: i.fields.pausedreason ?? '',
        inCall: i.fields.incall === '1'
      })),
      targetOf
    )
    log.info({ resync: result, channels: channels.items.length }, 'call state resynced from Asterisk')
  } catch (err) {
    // A failed resync leaves the old picture; the next reconnect tries again.
    log.warn({ err: { message: (err as Error).message } }, 'resync from Asterisk failed')
    onError?.(err) // a store failure: the store guard resyncs again once it is writable
  }
}
