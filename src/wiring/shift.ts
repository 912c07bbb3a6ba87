// The agents' shift (issue 15): logged-in agents loaded from the store before anything
// asks for an agent's interface, then the shift service over app_queue's member
// actions (QueueAdd, QueueRemove, QueuePause), fed by the tracker's QueueMemberPause.
// Which agents exist comes from the agent directory (config and run time); the tracker
// and ACW ask for an agent's interface of today through `today` (the login's, else the
// configured one).
import type { Logger } from 'pino'
import type { AmiClient } from '../ami/index.ts'
import type { AcwService } from '../acw/service.ts'
import { ShiftService, type ShiftAgent } from '../agents/shift.ts'
import type { SessionRepository } from '../agents/session.ts'
import { assertStoreReady, durableWithin } from '../calls/durable.ts'
import type { CallTracker } from '../calls/tracker.ts'
import type { Config } from '../config/schema.ts'
import { Errors } from '../errors.ts'
import { JournaledSessionRepository } from '../store/session-records.ts'
import type { StoreWiring } from './store.ts'
import type { AgentDirectory } from '../agents/directory.ts'

export interface AgentsToday {
  sessions: SessionRepository
  /** the agent as configured */
  agentOf: (agentId: string) => ShiftAgent | undefined
  agentIds: () => readonly string[]
  /** the agent with its interface and queues of today (the login's, else the configured ones) */
  today: (agentId: string) => ShiftAgent | undefined
}

export async function loadAgentsToday (directory: AgentDirectory, { journal, store }: StoreWiring): Promise<AgentsToday> {
  const sessions = new JournaledSessionRepository(journal, store.sessions)
  await sessions.load()
  const agentOf = (id: string): ShiftAgent | undefined => directory.get(id)
  const today = (id: string): ShiftAgent | undefined => {
    const a = agentOf(id)
    const s = a === undefined ? undefined : sessions.get(id)
    return a === undefined || s === undefined ? a : { ...a, interface: s.interface, queues: s.queues }
  }
  return { sessions, agentOf, agentIds: () => directory.all().map(a => a.id), today }
}

/** An AMI answer that says the member was (not) there, in app_queue's words. */
const said = (err: unknown, words: RegExp): boolean => (err as { code?: string }).code === 'AMI_ACTION_FAILED' && words.test((err as Error).message)

export function wireShift (config: Config, logger: Logger, store: StoreWiring, ami: AmiClient, tracker: CallTracker, acw: AcwService, agents: AgentsToday): ShiftService {
  const shift = new ShiftService({
    repo: agents.sessions,
    pbx: {
      async add (queue, iface, memberName, paused) {
        try {
          await ami.action('QueueAdd', { Queue: queue, Interface: iface, MemberName: memberName, Paused: paused ? 'true' : 'false' })
          return 'added'
        } catch (err) {
          if (said(err, /already there/i)) return 'already'
          throw err
        }
      },
      async remove (queue, iface) {
        try {
          await ami.action('QueueRemove', { Queue: queue, Interface: iface })
          return 'removed'
        } catch (err) {
          if (said(err, /not dynamic/i)) return 'static'
          if (said(err, /not there|no such queue/i)) return 'absent'
          throw err
        }
      },
      async pause (iface, paused, reason) {
        try {
          await ami.action('QueuePause', { Interface: iface, Paused: paused ? 'true' : 'false', ...(reason !== undefined ? { Reason: reason } : {}) })
        } catch (err) {
          // app_queue knows no member there: the agent is in no queue to pause in.
          if (said(err, /interface not found/i)) throw new Errors.NotLoggedIn(`${iface} is a member of no queue: log in first`)
          throw err
        }
      }
    },
    agentOf: agents.agentOf,
    agentIds: agents.agentIds,
    technologies: config.agentInterfaces.technologies,
    reasons: config.pauseReasons,
    acw: { mode: config.acw.mode, pauseReason: config.acw.pauseReason, complete: async (id, by) => { await acw.complete(id, by) } },
    view: {
      status: id => {
        const st = tracker.agentStatus(id)
        return st === undefined ? undefined : { online: st.presence === 'online', paused: st.paused, reason: st.pausedReason, onCall: st.callId !== undefined }
      },
      inAcw: id => acw.entry(id) !== undefined
    },
    audit: store.audit,
    log: logger.child({ module: 'shift' }),
    assertStoreReady: what => { assertStoreReady(store.durability, what) },
    durable: async (saved, what) => { await durableWithin(saved, store.durability, what) },
    interfacesChanged: () => { tracker.refreshAgents() },
    memberGone: id => { tracker.memberGone(id) }
  })
  // After ACW's handler: a pause ACW re-applies or confirms is ACW's, not a break.
  tracker.on('memberPause', (agentId, paused, reason) => { shift.onMemberPause(agentId, paused, reason) })
  return shift
}
