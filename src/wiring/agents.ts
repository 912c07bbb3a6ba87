// The agents feature (CONTRACT.md section 7): the agent directory, loaded at start from
// the config (its agents upserted into the store, winning for their ids) and the store;
// the store's agents version, read when PostgreSQL notifies a change (at once) and polled
// each second (SQLite, or a lost notification connection), so a change made by another
// instance or by the CLI is seen; the tokens issued at run time for authentication;
// and the admin service behind the admin API.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import { AgentAdmin } from '../agents/admin.ts'
import { AgentDirectory } from '../agents/directory.ts'
import type { AgentRepository } from '../agents/repository.ts'
import { sameAgent } from '../agents/types.ts'
import { assertStoreReady, durableWithin } from '../calls/durable.ts'
import type { CallTracker } from '../calls/tracker.ts'
import type { AcwService } from '../acw/service.ts'
import type { RunTimeTokens } from '../http/auth.ts'
import { journaledAgents } from '../store/agent-records.ts'
import type { StoreWiring } from './store.ts'

export interface AgentsWiring {
  directory: AgentDirectory
  repo: AgentRepository
  /** Agent tokens issued at run time, for the auth lookup: a revoked one is gone at once. */
  runTimeTokens: RunTimeTokens
  /** Reloads the directory if the store's agents version moved; true if it did. */
  refresh: () => Promise<boolean>
  /** Polls the version every `pollMs` (default 1 s). */
  start: () => void
  stop: () => void
}

export const AGENTS_POLL_MS = 1000

export async function wireAgents (config: Config, logger: Logger, { store, journal }: StoreWiring, opts: { pollMs?: number } = {}): Promise<AgentsWiring> {
  const log = logger.child({ module: 'agents' })
  const repo = journaledAgents(journal, store.agents)
  const directory = new AgentDirectory(config.agents)
  // The config's agents into the store, so other instances and the CLI see them too;
  // only what differs is written (a restart with the same file changes nothing). An
  // agent the file listed before and no longer does is removed, with its tokens: the
  // file decides for its agents, whatever the store held (an agent created by the API
  // and later put in the file becomes the file's).
  const storedAll = await store.agents.all()
  const stored = new Map(storedAll.map(a => [a.id, a]))
  const differs = directory.configAgents().filter(a => { const s = stored.get(a.id); return s === undefined || s.fromConfig !== true || !sameAgent(s, a) })
  const dropped = storedAll.filter(a => a.fromConfig === true && !directory.inConfig(a.id)).map(a => a.id)
  if (differs.length > 0 || dropped.length > 0) {
    const at = new Date().toISOString()
    await repo.transaction(() => {
      for (const a of differs) repo.save(a, at, true)
      for (const id of dropped) repo.remove(id, at)
    })
    log.info({ written: differs.map(a => a.id), removed: dropped }, 'agents of the config file written to the store')
  }
  let seen = await repo.version()
  const first = await repo.load()
  directory.load(first.agents, first.tokens)

  const refresh = async (): Promise<boolean> => {
    const gen = directory.generation
    const version = await repo.version()
    if (version === seen) return false
    const { agents, tokens } = await repo.load()
    // A change of this instance's own was applied while reading: what was read may
    // predate it. The next poll reads again (the version moved with it anyway).
    if (directory.generation !== gen) return false
    directory.load(agents, tokens)
    seen = version
    log.info({ version, agents: directory.ids().length, tokens: directory.tokenCount() }, 'agents reloaded from the store')
    return true
  }

  let timer: NodeJS.Timeout | undefined
  let stopWatching: (() => Promise<void>) | undefined
  let polling = false
  let again = false
  const poll = (): void => {
    // Asked while a read runs (a notification during the poll): read once more after it.
    if (polling) { again = true; return }
    polling = true
    again = false
    refresh().catch((err: unknown) => {
      // The store away: the directory stays as it is; the next poll tries again.
      log.debug({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'agents version not read')
    }).finally(() => { polling = false; if (again) poll() })
  }

  return {
    directory,
    repo,
    runTimeTokens: digest => {
      const t = directory.token(digest)
      return t === undefined ? undefined : { role: 'agent', agentId: t.agentId, name: t.name }
    },
    refresh,
    start () {
      if (timer !== undefined) return
      timer = setInterval(poll, opts.pollMs ?? AGENTS_POLL_MS)
      timer.unref()
      // PostgreSQL tells at once (a revoked token is refused on every instance within
      // milliseconds); the poll stays for what is missed while that connection is down.
      stopWatching = store.agents.watch?.(poll)
    },
    stop () {
      clearInterval(timer)
      timer = undefined
      void stopWatching?.()
      stopWatching = undefined
    }
  }
}

/**
 * The admin service. `loggedIn`: whether the agent is logged in (today the tracker's
 * presence, 'online' when its queue member is available; the sessions feature replaces it).
 */
export function wireAgentAdmin (config: Config, { directory, repo }: AgentsWiring, { audit, durability }: StoreWiring, deps: { tracker: CallTracker, acw: AcwService, loggedIn?: (agentId: string) => boolean }): AgentAdmin {
  const loggedIn = deps.loggedIn ?? ((id: string) => deps.tracker.agentStatus(id)?.presence === 'online')
  return new AgentAdmin({
    directory,
    repo,
    audit,
    technologies: config.agentInterfaces.technologies,
    busy: id => {
      if (deps.tracker.agentStatus(id)?.callId !== undefined) return 'on a call'
      if (deps.acw.entry(id) !== undefined) return 'in ACW'
      if (loggedIn(id)) return 'logged in'
      return undefined
    },
    durable: async (saved, what) => {
      if (saved === undefined) { assertStoreReady(durability, `${what} was not recorded`); return }
      await durableWithin(saved, durability, what)
    }
  })
}
