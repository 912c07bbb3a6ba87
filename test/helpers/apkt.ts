// Test parts for the APKT outbox: a real HTTP receiver (Fastify on port 0) that
// records every request and keeps accepted records deduplicated by Idempotency-Key,
// as the real APKT is expected to; record, store and outbox builders.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { Outbox } from '../../src/apkt/outbox.ts'
import { buildApktRecord, type ApktRecord, type ApktTopic } from '../../src/apkt/record.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { Store } from '../../src/store/port.ts'
import { openStore, type Store as SqliteFile } from '../../src/store/sqlite.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'

export const RECEIVER_TOKEN = 'test-apkt-token-0123456789'

export interface Received {
  n: number
  key: string | undefined
  authorization: string | undefined
  contentType: string | undefined
  body: ApktRecord
}

export interface Answer {
  status: number
  delayMs?: number
  body?: unknown
  headers?: Record<string, string>
  /** Drop the connection instead of answering (a network error for the client). */
  destroy?: boolean
}

export type Behaviour = (req: Received) => Answer

export class Receiver {
  readonly received: Received[] = []
  /** Idempotency-Key -> body of the first request answered 2xx. */
  readonly accepted = new Map<string, ApktRecord>()
  /** Keys in the order they were first accepted. */
  readonly acceptOrder: string[] = []
  /** Requests for a key already accepted (what deduplication absorbed). */
  duplicates = 0
  inflight = 0
  maxInflight = 0
  readonly inflightKeys = new Set<string>()
  behaviour: Behaviour = () => ({ status: 201 })
  private app: FastifyInstance | undefined
  private constructor (public port = 0) {}

  static async start (behaviour?: Behaviour): Promise<Receiver> {
    const r = new Receiver()
    if (behaviour !== undefined) r.behaviour = behaviour
    await r.up()
    return r
  }

  get url (): string { return `http://127.0.0.1:${this.port}/apkt/records` }

  countFor (key: string): number { return this.received.filter(r => r.key === key).length }

  async up (): Promise<void> {
    const app = Fastify({ logger: false, forceCloseConnections: true })
    app.post('/apkt/records', async (req: FastifyRequest<{ Body: ApktRecord }>, reply) => {
      const rec: Received = {
        n: this.received.length,
        key: header(req.headers['idempotency-key']),
        authorization: header(req.headers.authorization),
        contentType: header(req.headers['content-type']),
        body: req.body
      }
      this.received.push(rec)
      this.inflight++
      this.maxInflight = Math.max(this.maxInflight, this.inflight)
      if (rec.key !== undefined) this.inflightKeys.add(rec.key)
      try {
        const answer = this.behaviour(rec)
        if (answer.delayMs !== undefined) await new Promise(resolve => setTimeout(resolve, answer.delayMs))
        if (answer.destroy === true) { req.raw.socket.destroy(); return reply.hijack() }
        // Accepted means committed here, whether or not the client is still listening.
        if (answer.status >= 200 && answer.status < 300 && rec.key !== undefined) {
          if (this.accepted.has(rec.key)) this.duplicates++
          else { this.accepted.set(rec.key, rec.body); this.acceptOrder.push(rec.key) }
        }
        for (const [k, v] of Object.entries(answer.headers ?? {})) void reply.header(k, v)
        return reply.code(answer.status).send(answer.body ?? { ok: answer.status < 300 })
      } finally {
        this.inflight--
        if (rec.key !== undefined) this.inflightKeys.delete(rec.key)
      }
    })
    await app.listen({ host: '127.0.0.1', port: this.port })
    const addr = app.server.address()
    if (addr === null || typeof addr === 'string') throw new Error('receiver has no port')
    this.port = addr.port
    this.app = app
  }

  /** Closes the port: clients get connection refused until up(). */
  async down (): Promise<void> {
    const app = this.app
    this.app = undefined
    await app?.close()
  }

  async stop (): Promise<void> { await this.down() }

  /** Accepted keys of one agent's records, in the order the receiver first accepted them. */
  orderFor (agentId: string): string[] {
    return this.acceptOrder.filter(k => this.accepted.get(k)?.agentId === agentId)
  }
}

const header = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v[0] : v

const ALL_MIGRATIONS = [...migrations, ...apktMigrations]

/** The store as the service opens it (the SQLite engine of the port), migrated. */
export async function openApktStore (file: string): Promise<Store> {
  return await openSqliteStore(file, ALL_MIGRATIONS)
}

/**
 * The same file through a connection of its own (better-sqlite3), for what the port does
 * not show: the schema, rows as stored, another writer (an operator's repair by hand).
 */
export function openApktFile (file: string): SqliteFile {
  return openStore(file, ALL_MIGRATIONS)
}

export interface TestOutboxOptions {
  /** Who claims: a dispatcher's instance id (two owners = two dispatchers of an HA group). */
  owner?: string
  /** Default 10 minutes: no claim runs out during a test unless the test says so. */
  leaseMs?: number
}

/** An Outbox on `store` whose every add is its own commit (as the CLI writes). */
export function openOutbox (store: Store, o: TestOutboxOptions = {}): Outbox {
  return new Outbox({
    queries: store.outbox,
    write: async change => { await store.commit([change]) },
    owner: o.owner ?? 'test-instance',
    leaseMs: o.leaseMs ?? 600_000
  })
}

export interface MakeRecordOpts { agentId?: string, callId?: string, topic?: ApktTopic, at?: Date, name?: string }

export function makeRecord (o: MakeRecordOpts = {}): ApktRecord {
  return buildApktRecord({
    callId: o.callId ?? `call-${Math.random().toString(36).slice(2)}`,
    agentId: o.agentId ?? '1001',
    topic: o.topic ?? 'activation',
    apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : TRANSFER CALL' },
    customer: { name: o.name ?? 'Budi' },
    unit: 'DISTRIBUSI JAKARTA RAYA',
    unitPelayanan: 'UP3 TANJUNG PRIOK',
    at: o.at ?? new Date()
  })
}

/**
 * Adds `perAgent` records for each agent, interleaved by agent; resolves once all are
 * durable, with the ids by agent in creation order. The adds are handed in together, in
 * order (the store lands them in that order, in one group commit).
 */
export async function fillOutbox (outbox: Outbox, agents: string[], perAgent: number): Promise<Map<string, string[]>> {
  const byAgent = new Map<string, string[]>(agents.map(a => [a, []]))
  const writes: Array<Promise<void>> = []
  for (let i = 0; i < perAgent; i++) {
    for (const agentId of agents) {
      const callId = `call-${agentId}-${i}`
      const record = makeRecord({ agentId, callId })
      writes.push(outbox.add(record, `${callId}:transfer`))
      byAgent.get(agentId)?.push(record.id)
    }
  }
  await Promise.all(writes)
  return byAgent
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
