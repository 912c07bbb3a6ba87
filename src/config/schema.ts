// The shape of config/default.yaml (CONTRACT.md section 3), as one TypeBox schema:
// it validates the file, types the result, and drives the environment overrides.
import Type, { type Static } from 'typebox'

// Anything that may end up in an AMI header must be one line: a CR or LF would let
// a config value inject headers or whole actions (CONTRACT.md section 2).
const OneLine = (opts: { minLength?: number, description?: string } = {}) =>
  Type.String({ minLength: opts.minLength ?? 1, pattern: '^[^\\r\\n\\x00]*$', ...(opts.description ? { description: opts.description } : {}) })
const Port = Type.Integer({ minimum: 1, maximum: 65535 })
const Millis = (def: number, min = 1) => Type.Integer({ minimum: min, default: def })
// Secrets go into headers too (AMI Login, APKT Authorization): one line as well.
const Secret = (description: string) => Type.String({ minLength: 1, pattern: '^[^\\r\\n\\x00]*$', description })

export const HttpConfig = Type.Object({
  host: Type.String({ default: '127.0.0.1', minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 8123 }),
  bodyLimit: Type.Integer({ minimum: 1024, default: 65536, description: 'largest request body, bytes' }),
  shutdownTimeoutMs: Millis(10000),
  // Per token (per client IP without a valid one). The PBX token carries three CTI
  // events per call plus directory lookups, so the default leaves room for a busy hour.
  rateLimit: Type.Object({
    max: Type.Integer({ minimum: 1, default: 6000, description: 'requests per token (or per IP without a valid token) per window' }),
    timeWindowMs: Millis(60000, 1000)
  }, { additionalProperties: false, default: {} }),
  // Load shedding: past these, API requests get 503 (health and readiness still answer). 0 = off.
  underPressure: Type.Object({
    maxEventLoopDelayMs: Type.Integer({ minimum: 0, default: 1000, description: 'mean event-loop delay over a second' }),
    maxHeapUsedBytes: Type.Integer({ minimum: 0, default: 0 }),
    maxRssBytes: Type.Integer({ minimum: 0, default: 0 })
  }, { additionalProperties: false, default: {} }),
  // GET /v1/events (SSE): a dashboard that stops reading is dropped, not buffered for.
  events: Type.Object({
    maxBufferBytes: Type.Integer({ minimum: 1024, default: 1_048_576, description: 'unsent bytes a stream may hold before it is dropped' }),
    maxStreamsPerToken: Type.Integer({ minimum: 1, default: 5, description: 'open streams per token; more get 429 TOO_MANY_STREAMS' }),
    maxStreams: Type.Integer({ minimum: 1, default: 100, description: 'open streams in all; more get 429 TOO_MANY_STREAMS' })
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false, default: {} })

export const LogConfig = Type.Object({
  level: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' })
}, { additionalProperties: false, default: {} })

export const AmiConfig = Type.Object({
  host: Type.String({ default: '127.0.0.1', minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535, default: 5038 }),
  username: OneLine(),
  secret: Secret('AMI secret (prefer CTI_AMI_SECRET)'),
  events: Type.String({ default: 'on', pattern: '^[a-z,]+$', description: 'the Events header sent at login' }),
  actionTimeoutMs: Millis(5000),
  connectTimeoutMs: Millis(5000),
  pingIntervalMs: Millis(10000, 100),
  maxMessageBytes: Type.Integer({ minimum: 1024, default: 1048576, description: 'longest AMI message accepted; past it the connection is dropped and made again' }),
  reconnect: Type.Object({
    initialMs: Millis(500),
    maxMs: Millis(30000),
    stableMs: Millis(30000) // a session must last this long before the back-off starts over
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false })

// CONTRACT.md section 6. The PostgreSQL URL carries the database password, so it is
// taken from CTI_STORE_URL only: load.ts refuses a `url` in the file, and the cross
// checks tie url to kind (required for postgres, refused for sqlite).
export const StoreKind = Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { default: 'sqlite', description: 'sqlite (embedded, one instance) or postgres' })

export const StoreConfig = Type.Object({
  kind: StoreKind,
  path: Type.String({ minLength: 1, default: 'var/pln123-cti.db', description: 'the SQLite file (kind sqlite)' }),
  url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://[^\\s]+$', mustBe: 'a postgres:// or postgresql:// URL', description: 'PostgreSQL URL (kind postgres); a secret: from CTI_STORE_URL only' })),
  poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'connections in the pool (kind postgres)' })
}, { additionalProperties: false, default: {} })

// CONTRACT.md section 6: an HA group of instances sharing one PostgreSQL database. Absent:
// a single instance. The lease bounds takeover (a standby takes over within leaseMs + 3 s);
// under a second, a GC pause or a slow renewal would hand it over for nothing; past a
// minute, a dead active leaves the PBX without anyone acting for too long.
export const HaConfig = Type.Object({
  instanceId: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'this instance\'s name in the group, unique in it' }),
  advertiseUrl: Type.String({ pattern: '^https?://[^\\s]+$', description: 'where the other instances reach this one (a standby forwards requests to the active\'s)' }),
  leaseMs: Type.Integer({ minimum: 1000, maximum: 60_000, default: 5000, description: 'how long the active\'s lease lasts without a renewal' })
}, { additionalProperties: false })

export const PolicyConfig = Type.Object({
  dir: Type.String({ minLength: 1, default: 'config/policy' })
}, { additionalProperties: false, default: {} })

export const DirectoryEntry = Type.Object({
  index: Type.Integer({ minimum: 0, maximum: 99 }),
  name: OneLine(),
  context: Type.String({ pattern: '^[A-Za-z0-9_-]+$', description: 'dialplan context' }),
  exten: Type.String({ pattern: '^[A-Za-z0-9_+*#.-]+$', description: 'dialplan extension' })
}, { additionalProperties: false })

const AcwSeconds = Type.Integer({ minimum: 0, maximum: 3600 })

export const AcwConfig = Type.Object({
  seconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30, description: 'ACW length unless a queue or agent says otherwise' }),
  mode: Type.Union([Type.Literal('fixed'), Type.Literal('early-exit')], { default: 'fixed' }),
  perQueue: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), AcwSeconds, { default: {}, description: 'ACW seconds by queue name' }),
  perAgent: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }), AcwSeconds, { default: {}, description: 'ACW seconds by agent id (wins over queue)' }),
  pauseReason: Type.String({ pattern: '^[A-Za-z0-9_ -]{1,32}$', default: 'ACW', description: 'the QueuePause reason the service uses' }),
  pauseRetries: Type.Integer({ minimum: 0, maximum: 10, default: 3 })
}, { additionalProperties: false, default: {} })

export const AgentConfig = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
  interface: Type.String({ pattern: '^[A-Za-z0-9_/@.;:-]+$', description: 'queue member interface, e.g. PJSIP/1001' }),
  queues: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), { minItems: 1 }),
  unit: OneLine(),
  unitPelayanan: OneLine(),
  memberName: Type.Optional(OneLine({ description: "the member's name in queues.conf (MemberName): the agent column of queue_log; default: the interface" }))
}, { additionalProperties: false })

// CONTRACT.md section 7: interfaces given at run time (admin API, login) must use one
// of these channel technologies (src/agents/interface.ts).
export const AgentInterfacesConfig = Type.Object({
  technologies: Type.Array(Type.String({ pattern: '^[A-Za-z0-9]+$' }), { minItems: 1, default: ['PJSIP', 'SIP', 'IAX2', 'Local'], description: 'channel technologies an agent\'s interface may use' })
}, { additionalProperties: false, default: {} })

// CONTRACT.md section 7: what the agent says became of a call (src/wrapup/). A code goes
// into queue_log and reports, so it is a word without spaces; the label is for people.
export const WrapupCode = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', mustBe: 'a code of letters, digits, _ or - (at most 32)' })

export const WrapupCodeConfig = Type.Object({
  code: WrapupCode,
  label: Type.String({ minLength: 1, maxLength: 80, pattern: '^[^\\r\\n\\x00-\\x1f]*$' })
}, { additionalProperties: false })

export const DEFAULT_WRAPUP_CODES = [
  { code: 'SELESAI', label: 'Selesai dijelaskan' },
  { code: 'TRANSFER_ICONNET', label: 'Ditransfer ke CC ICONNET' },
  { code: 'TINDAK_LANJUT', label: 'Perlu tindak lanjut' }
]

// CONTRACT.md section 7: the agent's reasons to be away. The code is the QueuePause
// Reason (an AMI header and queue_log's data), so it is one word of safe characters.
export const PauseReasonEntry = Type.Object({
  code: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'the QueuePause reason' }),
  label: OneLine(),
  maxMinutes: Type.Integer({ minimum: 1, maximum: 1440, description: 'past this the pause is flagged (dashboard, metric, live feed)' })
}, { additionalProperties: false })

export const DEFAULT_PAUSE_REASONS = [
  { code: 'ISTIRAHAT', label: 'Istirahat', maxMinutes: 15 },
  { code: 'SHOLAT', label: 'Sholat', maxMinutes: 15 },
  { code: 'BRIEFING', label: 'Briefing', maxMinutes: 30 },
  { code: 'TOILET', label: 'Toilet', maxMinutes: 5 }
]

export const ApktDispatcherConfig = Type.Object({
  concurrency: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'deliveries in flight at once' }),
  maxAgeMs: Millis(86_400_000, 1000),
  pollMs: Millis(1000, 10),
  backoff: Type.Object({
    initialMs: Millis(1000),
    maxMs: Millis(300_000)
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false, default: {} })

export const ApktConfig = Type.Object({
  url: Type.String({ pattern: '^https?://[^\\s]+$', description: 'APKT record endpoint' }),
  token: Secret('APKT bearer token (prefer CTI_APKT_TOKEN)'),
  timeoutMs: Millis(5000),
  dispatcher: Type.Optional(ApktDispatcherConfig)
}, { additionalProperties: false })

// CONTRACT.md section 9. Calls, audit entries and delivered APKT records older than
// `days` are deleted in the background (src/retention/); pending and dead APKT records never.
export const RetentionConfig = Type.Object({
  days: Type.Integer({ minimum: 1, default: 400, description: 'calls, audit entries and delivered APKT records older than this are deleted' }),
  batchSize: Type.Integer({ minimum: 1, maximum: 10000, default: 500, description: 'most rows deleted per transaction' }),
  batchMs: Type.Number({ minimum: 0.1, maximum: 1000, default: 2, description: 'the time one batch should take, ms (the batch size adapts to it): what a request may wait behind a purge' }),
  pauseMs: Type.Integer({ minimum: 0, maximum: 60000, default: 20, description: 'pause between batches, ms' })
}, { additionalProperties: false, default: {} })

// The supervisor's reports (CONTRACT.md section 8). The waits are kept by the second up
// to an hour (src/store/report-rollups.ts), so the threshold may change at any time and
// applies to the history too.
export const ReportsConfig = Type.Object({
  serviceLevelSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 20, description: 'a caller answered within this many seconds of joining the queue counts for the service level' })
}, { additionalProperties: false, default: {} })

// admin: manages agents and their tokens at run time (CONTRACT.md section 7).
export const Role = Type.Union([Type.Literal('pbx'), Type.Literal('agent'), Type.Literal('supervisor'), Type.Literal('admin')])

export const TokenConfig = Type.Object({
  token: Type.String({ minLength: 16, description: 'bearer token, at least 16 characters' }),
  role: Role,
  agent: Type.Optional(Type.String({ minLength: 1 })),
  name: Type.Optional(OneLine({ description: 'who holds it, for the audit log' }))
}, { additionalProperties: false })

export const ConfigSchema = Type.Object({
  http: HttpConfig,
  log: LogConfig,
  ami: AmiConfig,
  store: StoreConfig,
  ha: Type.Optional(HaConfig),
  policy: PolicyConfig,
  directory: Type.Array(DirectoryEntry, { minItems: 1 }),
  acw: AcwConfig,
  // Optional: agents may all be managed at run time (admin API, CLI); those listed here
  // are upserted into the store at each start and win over it (CONTRACT.md section 7).
  agents: Type.Array(AgentConfig, { default: [], description: 'agents fixed by the config file (more may be added at run time)' }),
  agentInterfaces: AgentInterfacesConfig,
  wrapupCodes: Type.Array(WrapupCodeConfig, { minItems: 1, default: DEFAULT_WRAPUP_CODES, description: 'the codes an agent may choose for a call' }),
  wrapupDefault: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', default: 'TANPA_KODE', description: 'the code of a call whose wrap-up window closed without one (and whose topic names none)' }),
  pauseReasons: Type.Array(PauseReasonEntry, { minItems: 1, default: DEFAULT_PAUSE_REASONS, description: 'the reasons an agent may pause for' }),
  apkt: ApktConfig,
  retention: RetentionConfig,
  reports: ReportsConfig,
  auth: Type.Object({ tokens: Type.Array(TokenConfig, { minItems: 1 }) }, { additionalProperties: false })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>
export type AgentEntry = Static<typeof AgentConfig>
export type DirectoryItem = Static<typeof DirectoryEntry>
export type HaConfigItem = Static<typeof HaConfig>
export type StoreKindName = Static<typeof StoreKind>
export type PauseReasonItem = Static<typeof PauseReasonEntry>
export type TokenEntry = Static<typeof TokenConfig>
export type RoleName = Static<typeof Role>
/** Every role, from the schema (routes open to any authenticated caller). */
export const ROLES: readonly RoleName[] = Role.anyOf.map(literal => literal.const)
export type WrapupCodeEntry = Static<typeof WrapupCodeConfig>
