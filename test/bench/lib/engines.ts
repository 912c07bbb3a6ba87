// The store engines a benchmark runs the service on, side by side in one run: embedded
// SQLite (a file in a temp dir) and PostgreSQL (a throwaway local cluster from
// test/helpers/postgres.ts, started once per benchmark, a fresh database owned by a
// non-superuser role per service, fsync and synchronous_commit on). The service takes
// the engine the way it does in production: store.kind in the config, and the URL from
// CTI_STORE_URL in its environment only (load.ts refuses it in a file).
//   --engines sqlite,postgres   which engines, in this order (default both)
import { startCluster, type PgCluster } from '../../helpers/postgres.ts'
import { textArg } from './args.ts'
import { note } from './report.ts'

export type Engine = 'sqlite' | 'postgres'
export const ENGINES: readonly Engine[] = ['sqlite', 'postgres']

/** `--engines a,b` (default both), checked. */
export function enginesArg (def: readonly Engine[] = ENGINES): Engine[] {
  const text = textArg('engines')
  if (text === undefined) return [...def]
  const picked = text.split(',').filter(x => x !== '')
  const bad = picked.filter(x => !(ENGINES as readonly string[]).includes(x))
  if (bad.length > 0 || picked.length === 0) throw new Error(`--engines: ${bad.join(', ') || '(empty)'}: choose from ${ENGINES.join(', ')}`)
  return picked as Engine[]
}

/** A database for one service on `engine`: the env its process needs, and how to drop it. */
export interface EngineDb {
  engine: Engine
  /** CTI_STORE_KIND (and CTI_STORE_URL for postgres), to merge into the child's environment */
  env: NodeJS.ProcessEnv
  /** for postgres only: the URL (owned by a non-superuser role) */
  url?: string
  drop: () => Promise<void>
}

export class Engines {
  private cluster: Promise<PgCluster> | undefined

  /** A fresh database on `engine`; the SQLite file itself is the caller's store.path. */
  async database (engine: Engine): Promise<EngineDb> {
    if (engine === 'sqlite') return { engine, env: { CTI_STORE_KIND: 'sqlite' }, drop: async () => {} }
    this.cluster ??= startCluster({ log: line => note(`postgres: ${line}`) })
    const db = await (await this.cluster).createDatabase()
    return { engine, url: db.url, env: { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url }, drop: db.drop }
  }

  /** The PostgreSQL cluster's data dir (its postmaster.pid: CPU of the server's processes), once one is started. */
  async dataDir (): Promise<string | undefined> {
    if (this.cluster === undefined) return undefined
    return `${(await this.cluster).dir}/data`
  }

  /** Stops the cluster, when one was started. */
  async close (): Promise<void> {
    if (this.cluster === undefined) return
    const c = await this.cluster.catch(() => undefined)
    this.cluster = undefined
    await c?.destroy()
  }
}

/** The store settings of a child's environment, for parseConfig (nothing else of the parent's CTI_* leaks in). */
export function storeEnv (env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  if (env.CTI_STORE_KIND !== undefined) out.CTI_STORE_KIND = env.CTI_STORE_KIND
  if (env.CTI_STORE_URL !== undefined) out.CTI_STORE_URL = env.CTI_STORE_URL
  return out
}
