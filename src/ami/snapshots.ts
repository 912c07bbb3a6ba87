// CoreShowChannels and QueueStatus, translated from Asterisk's field names into the
// domain shapes the call tracker takes: the calls folder never reads a raw AMI field.
import type { ChannelSnapshot, MemberSnapshot } from '../calls/types.ts'
import type { AmiClient, AmiListResult } from './client.ts'

/** CoreShowChannels' items: one per live channel. */
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

/** QueueStatus' QueueMember items (its QueueParams items say nothing of members). */
export function memberSnapshots (list: AmiListResult): MemberSnapshot[] {
  return list.items.filter(i => i.event === 'QueueMember').map(i => ({
    interface: i.fields.location ?? i.fields.stateinterface ?? '',
    status: Number(i.fields.status ?? 0),
    paused: i.fields.paused === '1',
    pausedReason: i.fields.pausedreason ?? '',
    inCall: i.fields.incall === '1'
  }))
}

/** What a resync and a check of an unsettled transfer read from the PBX, in domain shapes. */
export interface PbxSnapshots {
  channels: () => Promise<ChannelSnapshot[]>
  members: () => Promise<MemberSnapshot[]>
}

export function pbxSnapshots (ami: AmiClient): PbxSnapshots {
  return {
    async channels () { return channelSnapshots(await ami.list('CoreShowChannels')) },
    async members () { return memberSnapshots(await ami.list('QueueStatus')) }
  }
}
