// A realistic AMI event stream for many calls, modelled on what the sandbox's Asterisk
// 22 sends for one PLN 123 queue call (captured with `Events: on`): the same events,
// in the same order, with the same headers. Per call, as the service's AMI user sees
// it (read = call,agent,user,system): 45 events for an educated call that the caller
// ends, 43 for a blind-transferred call, plus the ACW QueueMemberPause/Status pairs
// the service causes. With classes 'all' (a user that also reads `dialplan`) each call
// adds the VarSet and Newexten events Asterisk sends (about 30 more).
// Concurrent calls interleave, one call per agent at a time, so the stream is
// coherent for the call model: every AgentConnect names a configured member.

export interface StreamOptions {
  calls: number
  /** agents 1001 .. 1000+agents, member interface Local/NNNN@agents/n */
  agents: number
  /** calls in progress at once (default: one per agent) */
  concurrency?: number
  /** what the AMI user reads: 'cti' = call,agent,user,system (the service's user); 'all' adds dialplan */
  classes?: 'cti' | 'all'
  /** share of calls blind-transferred by the agent (the rest are educated and ended by the caller) */
  transferShare?: number
  /** numbers channels and unique ids from here, so several streams do not collide */
  firstCall?: number
  queue?: string
}

export interface AmiStream {
  /** one string per event, '\r\n\r\n'-terminated, in stream order */
  events: string[]
  bytes: number
  counts: Record<string, number>
  calls: number
  /** linkedid (= the service's call id) of every call, in call order */
  callIds: string[]
}

export const agentIds = (n: number, first = 1001): string[] => Array.from({ length: n }, (_, i) => String(first + i))
export const memberInterface = (agentId: string): string => `Local/${agentId}@agents/n`

interface Chan {
  name: string
  state: 0 | 4 | 6
  cidNum: string
  cidName: string
  connNum: string
  connName: string
  context: string
  exten: string
  prio: number
  uid: string
  linkedid: string
}

const STATE_DESC = { 0: 'Down', 4: 'Ring', 6: 'Up' } as const

function chan (p: string, c: Chan): string {
  return `${p}Channel: ${c.name}\r\n${p}ChannelState: ${c.state}\r\n${p}ChannelStateDesc: ${STATE_DESC[c.state]}\r\n` +
    `${p}CallerIDNum: ${c.cidNum}\r\n${p}CallerIDName: ${c.cidName}\r\n${p}ConnectedLineNum: ${c.connNum}\r\n${p}ConnectedLineName: ${c.connName}\r\n` +
    `${p}Language: en\r\n${p}AccountCode: \r\n${p}Context: ${c.context}\r\n${p}Exten: ${c.exten}\r\n${p}Priority: ${c.prio}\r\n` +
    `${p}Uniqueid: ${c.uid}\r\n${p}Linkedid: ${c.linkedid}\r\n`
}

const ev = (name: string, priv: string, body: string): string => `Event: ${name}\r\nPrivilege: ${priv},all\r\n${body}\r\n`

const bridge = (id: string, n: number): string =>
  `BridgeUniqueid: ${id}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\nBridgeName: <unknown>\r\nBridgeNumChannels: ${n}\r\nBridgeVideoSourceMode: none\r\n`

interface Member { queue: string, agentId: string, callsTaken: number, lastCall: number, lastPause: number, inCall: 0 | 1, status: number, paused: 0 | 1, reason: string }

const member = (m: Member): string =>
  `Queue: ${m.queue}\r\nMemberName: Agent ${m.agentId}\r\nInterface: ${memberInterface(m.agentId)}\r\nStateInterface: ${memberInterface(m.agentId)}\r\n` +
  `Membership: static\r\nPenalty: 0\r\nCallsTaken: ${m.callsTaken}\r\nLastCall: ${m.lastCall}\r\nLastPause: ${m.lastPause}\r\nLoginTime: 1795551488\r\n` +
  `InCall: ${m.inCall}\r\nStatus: ${m.status}\r\nPaused: ${m.paused}\r\nPausedReason: ${m.reason}\r\nRinginuse: 0\r\nWrapuptime: 0\r\n`

const hex8 = (n: number): string => n.toString(16).padStart(8, '0')

/** The events of one call, in the order Asterisk 22 sends them; `connected` = how many lead up to the agent talking. */
function callEvents (n: number, agentId: string, transfer: boolean, all: boolean, queue: string, members: Map<string, Member>): { events: string[], connected: number } {
  const out: string[] = []
  const epoch = 1795551488 + n
  const uid = (k: number): string => `${epoch}.${n * 4 + k}`
  const linkedid = uid(0)
  const caller = `0812${String(n % 100_000_000).padStart(8, '0')}`
  const name = `Pelanggan ${n % 1000}`
  const mk = (chName: string, k: number, context: string, exten: string, state: 0 | 4): Chan =>
    ({ name: chName, state, cidNum: '<unknown>', cidName: '<unknown>', connNum: '<unknown>', connName: '<unknown>', context, exten, prio: 1, uid: uid(k), linkedid })
  const c1 = mk(`Local/s@caller-${hex8(n * 2)};1`, 0, 'caller', 's', 0)
  const c2 = mk(`Local/s@caller-${hex8(n * 2)};2`, 1, 'caller', 's', 4)
  const a1 = mk(`Local/${agentId}@agents-${hex8(n * 2 + 1)};1`, 2, 'agents', agentId, 0)
  const a2 = mk(`Local/${agentId}@agents-${hex8(n * 2 + 1)};2`, 3, 'agents', agentId, 4)
  const bridgeId = `e9f5f124-b506-4ecf-${hex8(n).slice(0, 4)}-${hex8(n)}${hex8(n).slice(0, 4)}`
  const m = members.get(agentId) as Member
  const cid = (c: Chan, conn: boolean): void => { c.cidNum = caller; c.cidName = name; if (conn) { c.connNum = caller; c.connName = name } }
  const varset = (c: Chan, v: string, value: string): void => { if (all) out.push(ev('VarSet', 'dialplan', `${chan('', c)}Variable: ${v}\r\nValue: ${value}\r\n`)) }
  const newexten = (c: Chan, app: string, data: string): void => { if (all) out.push(ev('Newexten', 'dialplan', `${chan('', c)}Extension: ${c.exten}\r\nApplication: ${app}\r\nAppData: ${data}\r\n`)) }
  const localBridge = (one: Chan, two: Chan, optimize: boolean): string => {
    const p = (x: string, c: Chan): string => chan(x, c)
    return ev('LocalBridge', 'call', `${p('LocalOne', one)}${p('LocalTwo', two)}Context: ${one.context}\r\nExten: ${one.exten}\r\nLocalOptimization: ${optimize ? 'Yes' : 'No'}\r\n`)
  }

  // The customer's call arrives (a trunk in production; a Local channel in the sandbox).
  out.push(ev('Newchannel', 'call', chan('', c1)))
  out.push(ev('Newchannel', 'call', chan('', c2)))
  newexten(c1, 'AppDial2', '(Outgoing Line)')
  cid(c1, false); out.push(ev('NewCallerid', 'call', `${chan('', c1)}CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n`))
  cid(c1, true); out.push(ev('NewConnectedLine', 'call', chan('', c1)))
  cid(c2, true); out.push(ev('NewCallerid', 'call', `${chan('', c2)}CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n`))
  out.push(ev('NewConnectedLine', 'call', chan('', c2)))
  out.push(localBridge(c1, c2, true))
  out.push(ev('DialBegin', 'call', `${chan('Dest', c1)}DialString: s@caller\r\n`))
  varset(c1, 'ANSWEREDTIME', ''); varset(c1, 'ANSWEREDTIME_MS', ''); varset(c1, 'DIALEDTIME', ''); varset(c1, 'DIALEDTIME_MS', '')
  newexten(c2, 'Answer', '')
  c2.state = 6; out.push(ev('Newstate', 'call', chan('', c2)))
  c1.state = 6; out.push(ev('Newstate', 'call', chan('', c1)))
  out.push(ev('DialEnd', 'call', `${chan('Dest', c1)}DialStatus: ANSWER\r\n`))
  newexten(c2, 'Wait', '3600')
  c1.context = 'inbound'; c1.exten = '123'
  newexten(c1, 'Answer', '')
  c1.prio = 2; newexten(c1, 'UserEvent', `CtiInbound,Queue: ${queue}`)
  out.push(ev('UserEvent', 'user', `${chan('', c1)}UserEvent: CtiInbound\r\nQueue: ${queue}\r\n`))
  c1.prio = 3; newexten(c1, 'Queue', `${queue},t`)
  varset(c1, 'QUEUEWAIT', ''); varset(c1, 'QUEUEWAIT_MS', '')
  out.push(ev('QueueCallerJoin', 'agent', `${chan('', c1)}Queue: ${queue}\r\nPosition: 1\r\nCount: 1\r\n`))

  // app_queue rings the member (a Local channel pair in the sandbox, PJSIP in production).
  out.push(ev('Newchannel', 'call', chan('', a1)))
  out.push(ev('Newchannel', 'call', chan('', a2)))
  cid(a1, false); out.push(ev('NewCallerid', 'call', `${chan('', a1)}CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n`))
  cid(a2, true); out.push(ev('NewCallerid', 'call', `${chan('', a2)}CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n`))
  out.push(ev('NewConnectedLine', 'call', chan('', a2)))
  out.push(localBridge(a1, a2, false))
  varset(a1, 'DIALEDPEERNUMBER', `${agentId}@agents/n`); varset(a2, 'DIALEDPEERNUMBER', `${agentId}@agents/n`)
  const agentPart = (extra: string): string => `${chan('', c1)}${chan('Dest', a1)}Queue: ${queue}\r\nInterface: ${memberInterface(agentId)}\r\nMemberName: Agent ${agentId}\r\n${extra}`
  a1.exten = '123'
  out.push(ev('AgentCalled', 'agent', agentPart('')))
  out.push(ev('DialBegin', 'call', `${chan('', c1)}${chan('Dest', a1)}DialString: ${agentId}@agents/n\r\n`))
  newexten(a2, 'Answer', '')
  a2.state = 6; out.push(ev('Newstate', 'call', chan('', a2)))
  m.inCall = 0; m.status = 2; out.push(ev('QueueMemberStatus', 'agent', member(m)))
  a1.state = 6; out.push(ev('Newstate', 'call', chan('', a1)))
  cid(a1, true); out.push(ev('NewConnectedLine', 'call', chan('', a1)))
  out.push(ev('DialEnd', 'call', `${chan('', c1)}${chan('Dest', a1)}DialStatus: ANSWER\r\n`))
  newexten(a2, 'Wait', '3600')
  varset(c1, 'QUEUEPOSITION', '1'); varset(c1, 'QUEUEWAIT', '0'); varset(c1, 'QUEUEWAIT_MS', '0')
  out.push(ev('QueueCallerLeave', 'agent', `${chan('', c1)}Queue: ${queue}\r\nPosition: 1\r\nCount: 0\r\n`))
  out.push(ev('AgentConnect', 'agent', agentPart('HoldTime: 0\r\nRingTime: 0\r\n')))
  out.push(ev('BridgeCreate', 'call', bridge(bridgeId, 0)))
  out.push(ev('BridgeEnter', 'call', `${bridge(bridgeId, 1)}${chan('', a1)}`))
  varset(a1, 'BRIDGEPEER', c1.name)
  out.push(ev('BridgeEnter', 'call', `${bridge(bridgeId, 2)}${chan('', c1)}`))
  varset(c1, 'BRIDGEPEER', a1.name)
  m.inCall = 1
  const connected = out.length

  const talk = 60 + (n % 240)
  const pause = (paused: 0 | 1): void => {
    m.paused = paused; m.reason = paused === 1 ? 'ACW' : ''; m.lastPause = epoch + talk
    out.push(ev('QueueMemberPause', 'agent', member(m)))
  }
  const agentLegGone = (): void => {
    out.push(ev('HangupRequest', 'call', `${chan('', a2)}Cause: 16\r\n`))
    out.push(ev('Hangup', 'call', `${chan('', a1)}Cause: 16\r\nCause-txt: Normal Clearing\r\n`))
    out.push(ev('SoftHangupRequest', 'call', `${chan('', a2)}Cause: 16\r\n`))
    out.push(ev('Hangup', 'call', `${chan('', a2)}Cause: 16\r\nCause-txt: Normal Clearing\r\n`))
  }
  const customerGone = (): void => {
    out.push(ev('SoftHangupRequest', 'call', `${chan('', c2)}Cause: 16\r\n`))
    out.push(ev('HangupRequest', 'call', `${chan('', c1)}Cause: 0\r\n`))
    out.push(ev('Hangup', 'call', `${chan('', c2)}Cause: 0\r\nCause-txt: Unknown\r\n`))
  }
  if (transfer) {
    // The transfer button: the service pauses the member (ACW), then BlindTransfer.
    pause(1)
    out.push(ev('Unhold', 'call', chan('', a1)))
    varset(c1, 'BLINDTRANSFER', a1.name); varset(a1, 'BLINDTRANSFER', c1.name); varset(a1, 'BRIDGEPEER', '')
    out.push(ev('BlindTransfer', 'call', `Result: Success\r\n${chan('Transferer', a1)}${chan('Transferee', c1)}${bridge(bridgeId, 2)}IsExternal: Yes\r\nContext: direct-transfer\r\nExtension: 3\r\n`))
    varset(c1, 'BRIDGEPEER', '')
    out.push(ev('AgentComplete', 'agent', agentPart(`HoldTime: 0\r\nTalkTime: ${talk}\r\nReason: transfer\r\n`)))
    out.push(ev('BridgeLeave', 'call', `${bridge(bridgeId, 1)}${chan('', a1)}`))
    c1.context = 'direct-transfer'; c1.exten = '3'; c1.prio = 1
    newexten(c1, 'Answer', '')
    out.push(ev('BridgeLeave', 'call', `${bridge(bridgeId, 0)}${chan('', c1)}`))
    varset(c1, 'DIALEDTIME', String(talk)); varset(c1, 'DIALEDTIME_MS', String(talk * 1000)); varset(c1, 'ANSWEREDTIME', String(talk)); varset(c1, 'ANSWEREDTIME_MS', String(talk * 1000))
    c1.prio = 2; newexten(c1, 'UserEvent', 'IconnetArrived,Target: 3')
    out.push(ev('UserEvent', 'user', `${chan('', c1)}UserEvent: IconnetArrived\r\nTarget: 3\r\n`))
    c1.prio = 3; newexten(c1, 'Wait', '3600')
    agentLegGone()
    out.push(ev('BridgeDestroy', 'call', bridge(bridgeId, 0)))
    m.inCall = 0; m.status = 1; m.callsTaken++; m.lastCall = epoch + talk
    out.push(ev('QueueMemberStatus', 'agent', member(m)))
    // ICONNET ends the call later.
    customerGone()
    out.push(ev('SoftHangupRequest', 'call', `${chan('', c1)}Cause: 16\r\n`))
    out.push(ev('Hangup', 'call', `${chan('', c1)}Cause: 16\r\nCause-txt: Normal Clearing\r\n`))
  } else {
    // The agent educates; the caller hangs up.
    customerGone()
    out.push(ev('BridgeLeave', 'call', `${bridge(bridgeId, 1)}${chan('', c1)}`))
    varset(c1, 'BRIDGEPEER', ''); varset(a1, 'BRIDGEPEER', '')
    out.push(ev('AgentComplete', 'agent', agentPart(`HoldTime: 0\r\nTalkTime: ${talk}\r\nReason: caller\r\n`)))
    varset(c1, 'ANSWEREDTIME', String(talk)); varset(c1, 'ANSWEREDTIME_MS', String(talk * 1000)); varset(c1, 'DIALEDTIME', String(talk)); varset(c1, 'DIALEDTIME_MS', String(talk * 1000))
    out.push(ev('SoftHangupRequest', 'call', `${chan('', c1)}Cause: 16\r\n`))
    out.push(ev('Hangup', 'call', `${chan('', c1)}Cause: 16\r\nCause-txt: Normal Clearing\r\n`))
    out.push(ev('BridgeLeave', 'call', `${bridge(bridgeId, 0)}${chan('', a1)}`))
    out.push(ev('BridgeDestroy', 'call', bridge(bridgeId, 0)))
    agentLegGone()
    m.inCall = 0; m.status = 1; m.callsTaken++; m.lastCall = epoch + talk
    out.push(ev('QueueMemberStatus', 'agent', member(m)))
    pause(1) // ACW starts
    out.push(ev('QueueMemberStatus', 'agent', member(m)))
  }
  pause(0) // ACW over
  out.push(ev('QueueMemberStatus', 'agent', member(m)))
  return { events: out, connected }
}

export interface CallScript { callId: string, agentId: string, transfer: boolean, /** up to the agent talking */ start: string[], /** the rest: transfer or hangup, ACW */ end: string[] }

/** The calls one by one, agents assigned round-robin, each split where the agent starts talking. */
export function generateCalls (opts: StreamOptions): CallScript[] {
  const agents = agentIds(opts.agents)
  const all = (opts.classes ?? 'cti') === 'all'
  const share = opts.transferShare ?? 0.5
  const queue = opts.queue ?? 'pln123'
  const first = opts.firstCall ?? 0
  const members = new Map<string, Member>(agents.map(a => [a, { queue, agentId: a, callsTaken: 0, lastCall: 0, lastPause: 0, inCall: 0, status: 1, paused: 0, reason: '' }]))
  return Array.from({ length: opts.calls }, (_, j) => {
    const n = first + j
    const agentId = agents[j % agents.length] as string
    const transfer = Math.floor((j + 1) * share) > Math.floor(j * share)
    const { events, connected } = callEvents(n, agentId, transfer, all, queue, members)
    return { callId: `${1795551488 + n}.${n * 4}`, agentId, transfer, start: events.slice(0, connected), end: events.slice(connected) }
  })
}

/** The stream: calls in waves of `concurrency`, their events interleaved round-robin. */
export function generateStream (opts: StreamOptions): AmiStream {
  const agents = agentIds(opts.agents)
  const concurrency = Math.min(opts.concurrency ?? agents.length, agents.length)
  const all = (opts.classes ?? 'cti') === 'all'
  const share = opts.transferShare ?? 0.5
  const queue = opts.queue ?? 'pln123'
  const first = opts.firstCall ?? 0
  const members = new Map<string, Member>(agents.map(a => [a, { queue, agentId: a, callsTaken: 0, lastCall: 0, lastPause: 0, inCall: 0, status: 1, paused: 0, reason: '' }]))
  const events: string[] = []
  const callIds: string[] = []
  let agentCursor = 0
  for (let start = 0; start < opts.calls; start += concurrency) {
    const wave: string[][] = []
    for (let j = start; j < Math.min(opts.calls, start + concurrency); j++) {
      const n = first + j
      const agent = agents[agentCursor++ % agents.length] as string
      // Deterministic mix: every k-th call is transferred so the share holds in any slice.
      const transfer = Math.floor((j + 1) * share) > Math.floor(j * share)
      wave.push(callEvents(n, agent, transfer, all, queue, members).events)
      callIds.push(`${1795551488 + n}.${n * 4}`)
    }
    for (let k = 0; ; k++) {
      let any = false
      for (const list of wave) { const e = list[k]; if (e !== undefined) { events.push(e); any = true } }
      if (!any) break
    }
  }
  const counts: Record<string, number> = {}
  let bytes = 0
  for (const e of events) {
    bytes += Buffer.byteLength(e)
    const name = e.slice(7, e.indexOf('\r'))
    counts[name] = (counts[name] ?? 0) + 1
  }
  return { events, bytes, counts, calls: opts.calls, callIds }
}
