// Normalized AMI events: typed, camelCase, one shape per event name the service
// reasons about; anything else passes through untyped with its raw fields.
// asterisk-manager hands us lower-cased keys with arrays for repeated headers.

export type RawFields = Record<string, string>

interface Base { known: true, fields: RawFields, actionId?: string }

export interface ChannelFields {
  channel: string
  uniqueid: string
  linkedid: string
  callerIdNum: string
  callerIdName: string
  context: string
  exten: string
  channelState: string
}

export interface FullyBooted extends Base { event: 'FullyBooted', status: string }
export interface Newchannel extends Base, ChannelFields { event: 'Newchannel' }
export interface Hangup extends Base, ChannelFields { event: 'Hangup', cause: number, causeText: string }
export interface BridgeEnter extends Base, ChannelFields { event: 'BridgeEnter', bridgeUniqueid: string, bridgeNumChannels: number }
export interface BridgeLeave extends Base, ChannelFields { event: 'BridgeLeave', bridgeUniqueid: string, bridgeNumChannels: number }

/** Queue agent events: `channel` is the caller, `destChannel` the member's leg. */
interface AgentBase extends Base, ChannelFields {
  queue: string
  interface: string
  memberName: string
  destChannel: string
  destUniqueid: string
  destLinkedid: string
}
export interface AgentCalled extends AgentBase { event: 'AgentCalled' }
export interface AgentConnect extends AgentBase { event: 'AgentConnect', holdTime: number, ringTime: number }
export interface AgentComplete extends AgentBase { event: 'AgentComplete', holdTime: number, talkTime: number, reason: string }
export interface AgentRingNoAnswer extends AgentBase { event: 'AgentRingNoAnswer', ringTime: number }

export interface BlindTransfer extends Base {
  event: 'BlindTransfer'
  result: string
  success: boolean
  transfererChannel: string
  transfererUniqueid: string
  transfererLinkedid: string
  transfereeChannel: string
  transfereeUniqueid: string
  transfereeLinkedid: string
  context: string
  extension: string
  isExternal: boolean
}

interface MemberBase extends Base {
  queue: string
  interface: string
  memberName: string
  stateInterface: string
  paused: boolean
  pausedReason: string
  status: number
  inCall: boolean
}
export interface QueueMemberPause extends MemberBase { event: 'QueueMemberPause' }
export interface QueueMemberStatus extends MemberBase { event: 'QueueMemberStatus' }
export interface QueueMemberAdded extends MemberBase { event: 'QueueMemberAdded' }
export interface QueueMemberRemoved extends MemberBase { event: 'QueueMemberRemoved' }
/** A caller entered a queue (app_queue; `channel` is the caller, `linkedid` the call). */
export interface QueueCallerJoin extends Base, ChannelFields { event: 'QueueCallerJoin', queue: string, position: number, count: number }
/** A caller hung up while waiting in the queue; `holdTime` the seconds waited. */
export interface QueueCallerAbandon extends Base, ChannelFields { event: 'QueueCallerAbandon', queue: string, position: number, originalPosition: number, holdTime: number }
export interface UserEvent extends Base { event: 'UserEvent', userEvent: string }
/**
 * A Dial (app_dial, app_queue) ended: `channel` is the caller (the customer at a
 * transfer's target), `destChannel` the dialled leg; `dialStatus` is Asterisk's
 * DIALSTATUS word (ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, ...).
 */
export interface DialEnd extends Base, ChannelFields { event: 'DialEnd', destChannel: string, dialStatus: string }

export type KnownAmiEvent =
  | FullyBooted | Newchannel | Hangup | BridgeEnter | BridgeLeave
  | AgentCalled | AgentConnect | AgentComplete | AgentRingNoAnswer
  | BlindTransfer | QueueMemberPause | QueueMemberStatus | QueueMemberAdded | QueueMemberRemoved
  | UserEvent | DialEnd | QueueCallerJoin | QueueCallerAbandon

export interface UntypedAmiEvent { known: false, event: string, fields: RawFields, actionId?: string }

export type AmiEvent = KnownAmiEvent | UntypedAmiEvent

/** A response to an action, keys lower-cased as on the wire. */
export interface AmiResponse { response: string, message: string, actionId: string, fields: RawFields }

/**
 * Flattens what asterisk-manager parsed into own string properties: repeated headers
 * keep their first value (all of them stay joined in fields under the same key with
 * '\n'), nested variable maps become `variable.NAME` keys. Never trusts the prototype.
 */
export function flatten (raw: Record<string, unknown>): RawFields {
  const out: RawFields = Object.create(null)
  for (const key of Object.keys(raw)) {
    const v = raw[key]
    if (typeof v === 'string') out[key] = v
    else if (Array.isArray(v)) out[key] = v.map(String).join('\n')
    else if (typeof v === 'object' && v !== null) {
      for (const name of Object.keys(v)) out[`${key}.${name}`] = String((v as Record<string, unknown>)[name])
    } else if (v !== undefined) out[key] = String(v)
  }
  return out
}

const s = (f: RawFields, k: string): string => f[k] ?? ''
const first = (f: RawFields, k: string): string => { const v = f[k]; if (v === undefined) return ''; const i = v.indexOf('\n'); return i < 0 ? v : v.slice(0, i) }
const n = (f: RawFields, k: string): number => { const v = Number(f[k]); return Number.isFinite(v) ? v : 0 }
const yes = (v: string | undefined): boolean => v !== undefined && /^(1|yes|true|on)$/i.test(v)

type Builder = (f: RawFields) => KnownAmiEvent

// Builders make one object per event, starting from one literal of the channel fields
// and adding the event's own fields in a fixed order (no spreads of partial objects):
// this runs for every event Asterisk sends, tens of thousands a second at peak, and a
// fixed order keeps each event type on one hidden class. `fields` comes last (then
// actionId, added by normalizeEvent).
function channelEvent (event: string, f: RawFields): Record<string, unknown> {
  return {
    known: true,
    event,
    channel: s(f, 'channel'),
    uniqueid: s(f, 'uniqueid'),
    linkedid: s(f, 'linkedid'),
    callerIdNum: s(f, 'calleridnum'),
    callerIdName: s(f, 'calleridname'),
    context: s(f, 'context'),
    exten: s(f, 'exten'),
    channelState: s(f, 'channelstate')
  }
}

const newchannel = (f: RawFields): Newchannel => {
  const ev = channelEvent('Newchannel', f)
  ev.fields = f
  return ev as unknown as Newchannel
}

const hangup = (f: RawFields): Hangup => {
  const ev = channelEvent('Hangup', f)
  ev.cause = n(f, 'cause')
  ev.causeText = s(f, 'cause-txt')
  ev.fields = f
  return ev as unknown as Hangup
}

const bridgeEvent = (event: 'BridgeEnter' | 'BridgeLeave', f: RawFields): BridgeEnter | BridgeLeave => {
  const ev = channelEvent(event, f)
  ev.bridgeUniqueid = s(f, 'bridgeuniqueid')
  ev.bridgeNumChannels = n(f, 'bridgenumchannels')
  ev.fields = f
  return ev as unknown as BridgeEnter | BridgeLeave
}

const dialEnd = (f: RawFields): DialEnd => {
  const ev = channelEvent('DialEnd', f)
  ev.destChannel = s(f, 'destchannel')
  ev.dialStatus = s(f, 'dialstatus').toUpperCase()
  ev.fields = f
  return ev as unknown as DialEnd
}

const queueCallerJoin = (f: RawFields): QueueCallerJoin => {
  const ev = channelEvent('QueueCallerJoin', f)
  ev.queue = s(f, 'queue')
  ev.position = n(f, 'position')
  ev.count = n(f, 'count')
  ev.fields = f
  return ev as unknown as QueueCallerJoin
}

const queueCallerAbandon = (f: RawFields): QueueCallerAbandon => {
  const ev = channelEvent('QueueCallerAbandon', f)
  ev.queue = s(f, 'queue')
  ev.position = n(f, 'position')
  ev.originalPosition = n(f, 'originalposition')
  ev.holdTime = n(f, 'holdtime')
  ev.fields = f
  return ev as unknown as QueueCallerAbandon
}

type AgentEvent = AgentCalled | AgentConnect | AgentComplete | AgentRingNoAnswer
function agentEvent (event: AgentEvent['event'], f: RawFields, extra?: 'connect' | 'complete' | 'ringnoanswer'): AgentEvent {
  const ev = channelEvent(event, f)
  ev.queue = s(f, 'queue')
  ev.interface = s(f, 'interface')
  ev.memberName = s(f, 'membername')
  ev.destChannel = s(f, 'destchannel')
  ev.destUniqueid = s(f, 'destuniqueid')
  ev.destLinkedid = s(f, 'destlinkedid')
  if (extra === 'connect') { ev.holdTime = n(f, 'holdtime'); ev.ringTime = n(f, 'ringtime') }
  if (extra === 'complete') { ev.holdTime = n(f, 'holdtime'); ev.talkTime = n(f, 'talktime'); ev.reason = s(f, 'reason') }
  if (extra === 'ringnoanswer') ev.ringTime = n(f, 'ringtime')
  ev.fields = f
  return ev as unknown as AgentEvent
}

type MemberEvent = QueueMemberPause | QueueMemberStatus | QueueMemberAdded | QueueMemberRemoved
const memberEvent = (event: MemberEvent['event'], f: RawFields): MemberEvent => ({
  known: true,
  event,
  queue: s(f, 'queue'),
  interface: s(f, 'interface') || s(f, 'location'),
  memberName: s(f, 'membername') || s(f, 'name'),
  stateInterface: s(f, 'stateinterface'),
  paused: yes(f.paused),
  // Asterisk 22 says PausedReason; older releases said Reason.
  pausedReason: s(f, 'pausedreason') || s(f, 'reason'),
  status: n(f, 'status'),
  inCall: yes(f.incall),
  fields: f
} as MemberEvent)

// A Map, not an object literal: an event named "constructor" or "__proto__" must
// find nothing rather than Object.prototype's members.
const builders = new Map<string, Builder>(Object.entries({
  fullybooted: f => ({ known: true, event: 'FullyBooted', status: s(f, 'status'), fields: f }),
  newchannel,
  hangup,
  bridgeenter: f => bridgeEvent('BridgeEnter', f),
  bridgeleave: f => bridgeEvent('BridgeLeave', f),
  agentcalled: f => agentEvent('AgentCalled', f),
  agentconnect: f => agentEvent('AgentConnect', f, 'connect'),
  agentcomplete: f => agentEvent('AgentComplete', f, 'complete'),
  agentringnoanswer: f => agentEvent('AgentRingNoAnswer', f, 'ringnoanswer'),
  blindtransfer: f => ({
    known: true,
    event: 'BlindTransfer',
    result: s(f, 'result'),
    success: s(f, 'result') === 'Success',
    transfererChannel: s(f, 'transfererchannel'),
    transfererUniqueid: s(f, 'transfereruniqueid'),
    transfererLinkedid: s(f, 'transfererlinkedid'),
    transfereeChannel: s(f, 'transfereechannel'),
    transfereeUniqueid: s(f, 'transfereeuniqueid'),
    transfereeLinkedid: s(f, 'transfereelinkedid'),
    context: s(f, 'context'),
    extension: s(f, 'extension'),
    isExternal: yes(f.isexternal),
    fields: f
  }),
  queuememberpause: f => memberEvent('QueueMemberPause', f),
  queuememberstatus: f => memberEvent('QueueMemberStatus', f),
  queuememberadded: f => memberEvent('QueueMemberAdded', f),
  queuememberremoved: f => memberEvent('QueueMemberRemoved', f),
  userevent: f => ({ known: true, event: 'UserEvent', userEvent: first(f, 'userevent'), fields: f }),
  dialend: dialEnd,
  queuecallerjoin: queueCallerJoin,
  queuecallerabandon: queueCallerAbandon
} satisfies Record<string, Builder>))

/** Raw parsed message (with an `event` key) → normalized event. */
export function normalizeEvent (raw: Record<string, unknown>): AmiEvent {
  const fields = flatten(raw)
  const name = first(fields, 'event')
  const actionId = fields.actionid
  const build = builders.get(name.toLowerCase())
  const ev: AmiEvent = build !== undefined ? build(fields) : { known: false, event: name, fields }
  if (actionId !== undefined) ev.actionId = actionId
  return ev
}

export function normalizeResponse (raw: Record<string, unknown>): AmiResponse {
  const fields = flatten(raw)
  return { response: first(fields, 'response'), message: s(fields, 'message'), actionId: s(fields, 'actionid'), fields }
}
