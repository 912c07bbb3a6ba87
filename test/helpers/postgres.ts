// A real PostgreSQL for tests, benchmarks and the demo (see /work/shared/POSTGRES_SANDBOX.md):
// a throwaway cluster in a temp dir on a free port, and databases handed out the way a
// DBA would (a new owner role, not a superuser, with a password). The faults a real
// server can produce (crash, restart, a dropped connection, refused connections, a
// frozen server) are methods here, so tests cause them instead of imitating them.
//
// Only types come from tap: benchmarks and the demo import startCluster too.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs'
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import pg from 'pg'
import type { Test } from 'tap'
import { MissingPartError, needPart, type Probed } from './real-parts.ts'

export interface PgCluster {
  host: string
  port: number
  /** temp dir owned by the postgres user: data/, log, the socket */
  dir: string
  /** a superuser URL (role cti), for tests that need to do admin things */
  adminUrl: string
  /** a new database owned by a new NON-superuser role (LOGIN, password), what a DBA hands an application; URL with that role */
  createDatabase: (opts?: { name?: string }) => Promise<{ url: string, name: string, role: string, drop: () => Promise<void> }>
  /** pg_ctl stop -m fast|immediate (immediate = crash); a frozen cluster is thawed first */
  stop: (mode?: 'fast' | 'immediate') => Promise<void>
  /** start again on the same port; resolves once it accepts connections */
  start: () => Promise<void>
  /** SIGSTOP / SIGCONT the postmaster and its children (a frozen database) */
  freeze: () => void
  thaw: () => void
  /** pg_terminate_backend for every connection of `database` (except the caller's); resolves once they are gone */
  terminateConnections: (database: string) => Promise<number>
  /** ALTER DATABASE ... CONNECTION LIMIT n (0 = new connections refused; -1 = unlimited); superusers are not limited */
  connectionLimit: (database: string, n: number) => Promise<void>
  /** stops the cluster and removes its dir */
  destroy: () => Promise<void>
}

const HOST = '127.0.0.1'
const SUPERUSER = 'cti'
const DIR_PREFIX = 'pln123-pg-'
const READY_TIMEOUT_MS = 30_000

interface Install { bin: string, uid?: number, gid?: number }

/** The newest /usr/lib/postgresql/N/bin holding initdb (PLN123_PG_BIN overrides), or undefined. */
export function binDir (): string | undefined {
  const fromEnv = process.env.PLN123_PG_BIN
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(path.join(fromEnv, 'initdb')) ? fromEnv : undefined
  let versions: string[]
  try { versions = readdirSync('/usr/lib/postgresql') } catch { return undefined }
  return versions.filter(v => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    .map(v => `/usr/lib/postgresql/${v}/bin`).find(d => existsSync(path.join(d, 'initdb')))
}

/** Where the binaries are and whom to run them as, or why PostgreSQL cannot run here. */
function locate (): { value: Install } | { missing: string } {
  const bin = binDir()
  const fromEnv = process.env.PLN123_PG_BIN
  if (bin === undefined && fromEnv !== undefined && fromEnv !== '') return { missing: `PLN123_PG_BIN=${fromEnv} holds no initdb` }
  if (bin === undefined) return { missing: 'no /usr/lib/postgresql/*/bin/initdb (npm run pretest installs it: test/store/install-postgres.sh, as root)' }
  // PostgreSQL refuses to run as root: as root, run it as the postgres user the Debian
  // package creates; as anyone else, as ourselves.
  if (process.getuid?.() !== 0) return { value: { bin } }
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    return { value: { bin, uid, gid } }
  } catch {
    return { missing: 'running as root and there is no postgres user to run the server as (PostgreSQL refuses root)' }
  }
}

/** For needPart and callers that check first: PostgreSQL can run here, or why not. */
export async function probePostgres (): Promise<Probed<true>> {
  const got = locate()
  return 'value' in got ? { value: true } : got
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

// ---- processes: found through /proc, so that nothing here signals by name -------------

/** Field 22 of /proc/PID/stat (start time in clock ticks): tells a pid from its reuse. */
function startTime (pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch { return undefined }
}

function parentOf (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch { return undefined }
}

const allPids = (): number[] => readdirSync('/proc').filter(n => /^\d+$/.test(n)).map(Number)

const childrenOf = (pid: number): number[] => allPids().filter(p => parentOf(p) === pid)

/**
 * Every process whose working directory is `dataDir`: a postmaster and all its children
 * chdir there, so this finds them even after the postmaster died and left (possibly
 * frozen) backends behind.
 */
function processesIn (dataDir: string): number[] {
  return allPids().filter(p => {
    try { return readlinkSync(`/proc/${p}/cwd`) === dataDir } catch { return false }
  })
}

function signal (pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig) } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

// ---- stale clusters ------------------------------------------------------------------

// Each cluster dir holds `owner`: the pid and start time of the process that made it.
// The postmaster dies with its owner (setpriv --pdeathsig), and an owner that exits
// normally removes its dirs ('exit' hook below); an owner killed outright leaves the dir
// (and any frozen backends) behind, which the next startCluster on this machine removes.
const ownerStamp = (): string => `${process.pid} ${startTime(process.pid) ?? '?'}\n`

function ownerAlive (stamp: string): boolean {
  const [pid, started] = stamp.trim().split(' ')
  return pid !== undefined && started !== undefined && startTime(Number(pid)) === started
}

async function sweepStale (log: (line: string) => void): Promise<void> {
  const tmp = os.tmpdir()
  for (const name of readdirSync(tmp).filter(n => n.startsWith(DIR_PREFIX))) {
    const dir = path.join(tmp, name)
    let stamp: string | undefined
    try { stamp = readFileSync(path.join(dir, 'owner'), 'utf8') } catch {}
    if (stamp !== undefined ? ownerAlive(stamp) : youngerThan(dir, 60_000)) continue
    killAll(dir)
    await rm(dir, { recursive: true, force: true })
    log(`removed stale cluster ${dir} (its test process is gone)`)
  }
}

function youngerThan (dir: string, ms: number): boolean {
  try { return Date.now() - statSync(dir).mtimeMs < ms } catch { return false }
}

/** SIGKILL every process of the cluster in `dir` (SIGKILL ends stopped processes too). */
function killAll (dir: string): void {
  for (const pid of processesIn(path.join(dir, 'data'))) signal(pid, 'SIGKILL')
}

const live = new Set<Cluster>()
let exitHook = false
function registerExitHook (): void {
  if (exitHook) return
  exitHook = true
  // A test process that exits without destroying its clusters must not leave them running
  // (or frozen: a stopped backend would never notice its postmaster died).
  process.once('exit', () => {
    for (const c of live) {
      killAll(c.dir)
      try { rmSync(c.dir, { recursive: true, force: true }) } catch {}
    }
  })
}

// ---- the cluster -----------------------------------------------------------------------

async function run (inst: Install, file: string, args: string[], cwd: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(path.join(inst.bin, file), args, {
      cwd, uid: inst.uid, gid: inst.gid, encoding: 'utf8', timeout: 120_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }
    }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`))
      else resolve(stdout + stderr)
    })
  })
}

class Cluster implements PgCluster {
  readonly host = HOST
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private frozen = false
  private destroyed = false

  constructor (
    private readonly inst: Install,
    readonly dir: string,
    public port: number,
    private readonly password: string,
    private readonly log: (line: string) => void
  ) {}

  get adminUrl (): string { return `postgres://${SUPERUSER}:${this.password}@${HOST}:${this.port}/postgres` }
  private get dataDir (): string { return path.join(this.dir, 'data') }
  private get running (): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null }

  /** Spawns the postmaster and waits until it accepts a login (or exits, or times out). */
  async boot (): Promise<void> {
    const logFd = openSync(path.join(this.dir, 'log'), 'a')
    // setpriv --pdeathsig KILL: the postmaster dies with this process, even when this
    // process is SIGKILLed (a test timeout); its children then exit on their own.
    // setpriv runs as the postgres user already (spawn's uid), so the signal setting
    // survives the exec (a credential change would clear it).
    const postgres = path.join(this.inst.bin, 'postgres')
    const [cmd, args] = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', postgres, '-D', this.dataDir, '-p', String(this.port)]]
      : [postgres, ['-D', this.dataDir, '-p', String(this.port)]]
    const child = spawn(cmd, args, {
      cwd: this.dir, uid: this.inst.uid, gid: this.inst.gid, stdio: ['ignore', logFd, logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }
    })
    closeSync(logFd)
    this.child = child
    this.exited = new Promise(resolve => child.once('exit', () => resolve()))
    child.once('error', () => {}) // a spawn failure shows as the exit below
    await this.waitReady(child)
  }

  private async waitReady (child: ChildProcess): Promise<void> {
    const until = Date.now() + READY_TIMEOUT_MS
    let last = ''
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`postgres exited (${child.exitCode ?? child.signalCode ?? '?'}) before accepting connections; log:\n${await this.logTail()}`)
      }
      // "Accepting" means a real login answers a query: during startup or WAL recovery
      // the port is open but logins get 57P03 (the database system is starting up).
      const c = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 2000 })
      c.on('error', () => {})
      try {
        await c.connect()
        await c.query('SELECT 1')
        return
      } catch (err) {
        last = (err as Error).message
      } finally {
        await c.end().catch(() => {})
      }
      if (Date.now() > until) {
        child.kill('SIGKILL')
        throw new Error(`postgres did not accept connections within ${READY_TIMEOUT_MS} ms (last: ${last}); log:\n${await this.logTail()}`)
      }
      await delay(50)
    }
  }

  async logTail (): Promise<string> {
    return (await readFile(path.join(this.dir, 'log'), 'utf8').catch(() => '')).slice(-3000)
  }

  /** Runs `fn` on a new superuser connection, closed after: an admin action never shares a connection a fault could break. */
  private async admin<T> (fn: (c: pg.Client) => Promise<T>): Promise<T> {
    if (this.destroyed) throw new Error('the cluster was destroyed')
    const c = new pg.Client({ connectionString: this.adminUrl, connectionTimeoutMillis: 10_000 })
    c.on('error', () => {}) // a dropped admin connection surfaces as the query's rejection
    await c.connect()
    try { return await fn(c) } finally { await c.end().catch(() => {}) }
  }

  createDatabase = async (opts: { name?: string } = {}): Promise<{ url: string, name: string, role: string, drop: () => Promise<void> }> => {
    const id = randomBytes(5).toString('hex')
    const name = opts.name ?? `t_${id}`
    if (!/^[a-z_][a-z0-9_]{0,47}$/.test(name)) throw new Error(`database name "${name}": use lower-case letters, digits and _ (at most 48)`)
    const role = `${name}_owner`
    const password = randomBytes(18).toString('hex')
    const db = pg.escapeIdentifier(name)
    const r = pg.escapeIdentifier(role)
    await this.admin(async c => {
      // What a DBA hands an application: a login role that owns its database and can do
      // anything inside it (create tables, migrate), and nothing at the cluster level.
      await c.query(`CREATE ROLE ${r} LOGIN PASSWORD ${pg.escapeLiteral(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`)
      await c.query(`CREATE DATABASE ${db} OWNER ${r}`)
      // PUBLIC may connect to any database by default; here only the owner may, so one
      // test's role cannot reach another test's database.
      await c.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`)
    })
    const drop = async (): Promise<void> => {
      if (this.destroyed) return
      await this.admin(async c => {
        await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)
        await c.query(`DROP ROLE IF EXISTS ${r}`)
      })
    }
    return { url: `postgres://${role}:${password}@${HOST}:${this.port}/${name}`, name, role, drop }
  }

  stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (!this.running) return
    if (this.frozen) this.thaw() // a stopped postmaster would not act on pg_ctl's signal
    const t0 = Date.now()
    await run(this.inst, 'pg_ctl', ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '60'], this.dir)
    await this.exited
    this.log(`postgres on port ${this.port} stopped (${mode}) in ${Date.now() - t0} ms`)
  }

  start = async (): Promise<void> => {
    if (this.destroyed) throw new Error('the cluster was destroyed')
    if (this.running) return
    const t0 = Date.now()
    await this.boot()
    this.log(`postgres on port ${this.port} started again in ${Date.now() - t0} ms`)
  }

  /** The postmaster, then its children: stopped first, it cannot fork a new one between. */
  freeze = (): void => {
    const pm = this.child?.pid
    if (!this.running || pm === undefined) throw new Error('the cluster is not running')
    signal(pm, 'SIGSTOP')
    for (const pid of childrenOf(pm)) signal(pid, 'SIGSTOP')
    this.frozen = true
  }

  thaw = (): void => {
    const pm = this.child?.pid
    if (pm === undefined) return
    for (const pid of childrenOf(pm)) signal(pid, 'SIGCONT')
    signal(pm, 'SIGCONT')
    this.frozen = false
  }

  terminateConnections = async (database: string): Promise<number> => {
    return await this.admin(async c => {
      // The 5 s argument makes each call wait until the backend has exited, so the
      // connections are gone (and no longer counted anywhere) when this resolves.
      const res = await c.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE gone)::int AS n FROM (
           SELECT pg_terminate_backend(pid, 5000) AS gone FROM pg_stat_activity
           WHERE datname = $1 AND pid <> pg_backend_pid()) s`, [database])
      return res.rows[0]?.n ?? 0
    })
  }

  connectionLimit = async (database: string, n: number): Promise<void> => {
    if (!Number.isInteger(n) || n < -1) throw new Error(`connection limit ${n}: must be an integer >= -1`)
    await this.admin(async c => { await c.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} CONNECTION LIMIT ${n}`) })
  }

  destroy = async (): Promise<void> => {
    if (this.destroyed) return
    if (this.running) {
      if (this.frozen) this.thaw()
      // A throwaway cluster needs no clean shutdown; if pg_ctl fails, the kill below ends it.
      await this.stop('immediate').catch(err => { this.log(`pg_ctl stop failed: ${(err as Error).message}`) })
    }
    killAll(this.dir)
    this.destroyed = true
    live.delete(this)
    await rm(this.dir, { recursive: true, force: true })
  }
}

/**
 * A new cluster: initdb (superuser `cti`, a random password), postmaster on 127.0.0.1 and
 * a free port, socket in the cluster dir. About 1-3 s.
 *
 * Authentication is scram-sha-256 everywhere, no trust: every login, the superuser's
 * included, goes over TCP with a password, as the service's will in production, so a
 * URL that works here is shaped like a real one and a wrong password really fails.
 * (The socket is only for a person debugging with psql -h DIR, password required too.)
 */
export async function startCluster (opts: { log?: (line: string) => void } = {}): Promise<PgCluster> {
  const log = opts.log ?? (() => {})
  const found = locate()
  if ('missing' in found) throw new MissingPartError('postgres', found.missing)
  const inst = found.value
  await sweepStale(log)
  const t0 = Date.now()
  const dir = await mkdtemp(path.join(os.tmpdir(), DIR_PREFIX))
  await writeFile(path.join(dir, 'owner'), ownerStamp())
  registerExitHook()
  const password = randomBytes(18).toString('hex')
  const cluster = new Cluster(inst, dir, 0, password, log)
  live.add(cluster)
  try {
    if (inst.uid !== undefined && inst.gid !== undefined) await chown(dir, inst.uid, inst.gid)
    const pwfile = path.join(dir, 'pwfile')
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 })
    if (inst.uid !== undefined && inst.gid !== undefined) await chown(pwfile, inst.uid, inst.gid)
    // --no-sync: initdb skips fsyncing its initial files (a throwaway cluster does not
    // outlive a machine crash); the server itself runs with fsync on.
    await run(inst, 'initdb', ['-D', path.join(dir, 'data'), '-U', SUPERUSER, `--pwfile=${pwfile}`,
      '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale', '--no-sync'], dir)
    await rm(pwfile)
    await appendFile(path.join(dir, 'data', 'postgresql.conf'), [
      '',
      '# pln123-cti test cluster (test/helpers/postgres.ts)',
      `listen_addresses = '${HOST}'`,
      `unix_socket_directories = '${dir}'`,
      'fsync = on # durability is tested, not assumed',
      'synchronous_commit = on',
      ''
    ].join('\n'))
    // A free port can be taken by someone else before the postmaster binds it: try again.
    for (let attempt = 1; ; attempt++) {
      cluster.port = await freePort()
      try {
        await cluster.boot()
        break
      } catch (err) {
        const tail = await cluster.logTail()
        if (attempt >= 3 || !/could not (bind|create listen)|Address already in use/.test(tail)) throw err
        log(`port ${cluster.port} was taken, trying another`)
      }
    }
    log(`postgres up on ${HOST}:${cluster.port} (${dir}) in ${Date.now() - t0} ms`)
    return cluster
  } catch (err) {
    await cluster.destroy().catch(() => {})
    throw err
  }
}

// ---- tap ---------------------------------------------------------------------------------

let fileCluster: Promise<Probed<PgCluster>> | undefined

/**
 * For tap tests: the cluster, started once per test file (the first call) and destroyed
 * when the file's root test ends, or undefined when PLN123_ALLOW_MISSING=postgres allows
 * it to be missing (the test is then marked skipped with the reason). Without the
 * opt-out a missing PostgreSQL, or one that cannot start, FAILS the test with the reason.
 */
export async function needPostgres (t: Test): Promise<PgCluster | undefined> {
  if (fileCluster === undefined) {
    let root: { parent?: unknown, teardown?: (fn: () => unknown) => void } = t
    while (root.parent !== undefined && root.parent !== null) root = root.parent as typeof root
    fileCluster = (async (): Promise<Probed<PgCluster>> => {
      const found = locate()
      if ('missing' in found) return found
      try {
        const cluster = await startCluster()
        root.teardown?.(async () => { fileCluster = undefined; await cluster.destroy() })
        return { value: cluster }
      } catch (err) {
        return { missing: `cannot start a PostgreSQL cluster: ${(err as Error).message}` }
      }
    })()
  }
  const got = fileCluster
  return await needPart(t, 'postgres', async () => await got)
}

/**
 * One query on a connection of its own, closed afterwards whatever happens: for tests
 * that look into the service's database (as the service's role, from its URL).
 */
export async function queryOnce<R extends pg.QueryResultRow> (url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  await c.connect()
  try {
    return (await c.query<R>(sql, params)).rows
  } finally {
    await c.end()
  }
}
