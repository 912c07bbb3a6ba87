// Shared TypeBox schemas for the HTTP API (CONTRACT.md section 4).
import Type from 'typebox'
import { TOPICS } from '../policy/types.ts'

export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String()
}, { additionalProperties: true })

/** For routes that take no query: an unknown parameter is a client bug to hear about. */
export const NoQuery = Type.Object({}, { additionalProperties: false })

/**
 * For POSTs that take no body: none (Fastify validates a missing body as null), or {}.
 * `nullable` rather than a union, so an unknown field is named in the 400 like anywhere else.
 */
export const NoBody = Type.Unsafe<Record<string, never> | null>({ type: 'object', nullable: true, properties: {}, additionalProperties: false, description: 'no body, or {}' })

/** Asterisk Linkedids look like 1795549373.12; CTI middlewares may use UUIDs. */
export const CallId = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' })

export const AgentId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' })

export const CallIdParam = Type.Object({ callId: CallId }, { additionalProperties: false })

export const AgentIdParam = Type.Object({ agentId: AgentId }, { additionalProperties: false })

/** A channel name as Asterisk prints it; one line, no spaces. */
export const ChannelName = Type.String({ pattern: '^[A-Za-z0-9_/@.;:+#*-]{1,128}$' })

/** Free text that is shown to people and may end up in records: one line. */
export const OneLine = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[^\\r\\n\\x00-\\x1f]+$' })

export const TopicSchema = Type.Enum(TOPICS)

/** Where a transferred customer landed at the target (CONTRACT.md section 8, "After the transfer"). */
export const LandingSchema = Type.Object({
  status: Type.Union([Type.Literal('waiting'), Type.Literal('answered'), Type.Literal('abandoned'), Type.Literal('failed')], {
    description: 'waiting: placed at the target; answered there; abandoned: hung up waiting; failed: the target was busy, congested, unreachable or did not answer. A final status never changes.'
  }),
  at: Type.String({ description: 'when this status was reached' }),
  waitSeconds: Type.Number({ description: 'seconds from being placed at the target to `at` (0 while waiting)' }),
  cause: Type.Optional(Type.String({ description: 'why it failed: the DialStatus (BUSY, CONGESTION, CHANUNAVAIL, NOANSWER, ...)' }))
})

export const TransferSchema = Type.Object({
  status: Type.Union([Type.Literal('pending'), Type.Literal('completed'), Type.Literal('failed')]),
  target: Type.Integer(),
  at: Type.String(),
  message: Type.Optional(Type.String()),
  landing: Type.Optional(LandingSchema)
})

/** An error answer of the transfer button: 409 ALREADY_TRANSFERRED and TRANSFER_OUTCOME_UNKNOWN carry the first attempt. */
export const TransferErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String(),
  transfer: Type.Optional(TransferSchema)
}, { additionalProperties: true })

export const AgentViewSchema = Type.Object({
  id: Type.String(),
  state: Type.Union([Type.Literal('offline'), Type.Literal('ready'), Type.Literal('on_call'), Type.Literal('acw'), Type.Literal('paused')]),
  callId: Type.Optional(Type.String()),
  acwEndsAt: Type.Optional(Type.String()),
  pausedReason: Type.Optional(Type.String({ description: 'the pause reason while in state paused (older clients; see pauseReason)' })),
  paused: Type.Boolean({ description: 'paused in the queue (ACW included)' }),
  pauseReason: Type.Optional(Type.String({ description: 'the QueuePause reason while paused' })),
  pausedSince: Type.Optional(Type.String({ description: 'when the pause began, when the service saw it begin' })),
  pauseOverMax: Type.Optional(Type.Literal(true, { description: 'a pause longer than its reason\'s maxMinutes' })),
  loggedOut: Type.Boolean({ description: 'neither logged in through the API nor a member of any queue' }),
  interface: Type.Optional(Type.String({ description: 'the phone of today: the login\'s, else the configured one' })),
  next: Type.Optional(Type.Union([
    Type.Object({ paused: Type.Literal(true), reason: Type.String() }),
    Type.Object({ logout: Type.Literal(true) })
  ], { description: 'asked for during the call or ACW, applied when ACW ends' }))
})

export const ApktSummary = Type.Object({
  permasalahan: Type.String(),
  jenis: Type.String(),
  tipeKeluhan: Type.String(),
  subTipeKeluhan: Type.String()
})

/** A call's wrap-up (CONTRACT.md section 7). */
export const WrapupSchema = Type.Object({
  code: Type.String(),
  label: Type.String(),
  note: Type.Optional(Type.String()),
  source: Type.Union([Type.Literal('agent'), Type.Literal('topic'), Type.Literal('default')], {
    description: 'agent: chosen through the API (by an agent or a supervisor, see `by`); topic: the code the inquiry\'s topic names; default: wrapupDefault'
  }),
  at: Type.String({ description: 'when it was chosen, or when the window closed (topic, default)' }),
  by: Type.Optional(Type.String({ description: 'who chose it' })),
  final: Type.Boolean({ description: 'the window closed (the agent\'s ACW for the call ended, or the call ended without ACW): it no longer changes' })
})

export const CallViewSchema = Type.Object({
  callId: Type.String(),
  agentId: Type.Optional(Type.String()),
  state: Type.Union([Type.Literal('offered'), Type.Literal('connected'), Type.Literal('transferring'), Type.Literal('transferred'), Type.Literal('ended')]),
  topic: Type.Optional(TopicSchema),
  consent: Type.Optional(Type.Object({ accepted: Type.Boolean(), at: Type.String() })),
  transfer: Type.Optional(TransferSchema),
  apkt: Type.Optional(Type.Object({ recordId: Type.String(), permasalahan: Type.String(), status: Type.Optional(Type.String()) })),
  callerIdNum: Type.Optional(Type.String()),
  offeredAt: Type.String(),
  connectedAt: Type.Optional(Type.String()),
  endedAt: Type.Optional(Type.String()),
  endReason: Type.Optional(Type.String()),
  script: Type.Optional(Type.String()),
  wrapup: Type.Optional(WrapupSchema)
})
