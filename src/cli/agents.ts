// `pln123-cti agents list|add|remove|token`: agents and their tokens for operators at a
// shell, on the same store as the service, through the same checks and writes as the
// admin API (src/agents/admin.ts). A running service sees the change within about a
// second (it polls the store's agents version).
//
// The CLI cannot see the running service's memory: it refuses to remove an agent that
// the store shows on a call or in ACW, but cannot know whether it is logged in (the
// admin API can: prefer it while the service runs).
import { parseArgs } from 'node:util'
import { AgentAdmin, type Actor } from '../agents/admin.ts'
import { AgentDirectory } from '../agents/directory.ts'
import type { Config } from '../config/schema.ts'
import { storeConfigOf } from '../store/open.ts'
import { straightAgents } from '../store/agent-records.ts'
import type { Store } from '../store/port.ts'
import { UsageError, type Io } from './io.ts'
import { openCliStore } from './store.ts'

export const agentsUsage = `  pln123-cti agents list                                               every agent (config and run time)
  pln123-cti agents add <id> --queues q1,q2 --unit U --unit-pelayanan P [--name N] [--interface PJSIP/1001]
                                                                       create, or change a run-time agent
  pln123-cti agents remove <id>                                        remove a run-time agent, revoke its tokens
  pln123-cti agents token <id> [--name N] [--revoke-others]            issue a token (printed once)`

// The API's field names as the CLI's options, in refusals.
const OPTION: Record<string, string> = { agentId: 'agent id', name: '--name', queues: '--queues', unit: '--unit', unitPelayanan: '--unit-pelayanan', interface: '--interface' }
const cliField = (field: string): string => {
  const m = /^(\w+)\[(\d+)\]$/.exec(field)
  return m !== null ? `${OPTION[m[1] ?? ''] ?? m[1] ?? field} (item ${Number(m[2]) + 1})` : OPTION[field] ?? field
}

/** What the store shows of an agent's work: the service's memory is not reachable from here. */
async function busyInStore (store: Store): Promise<(agentId: string) => string | undefined> {
  const [acw, calls] = await Promise.all([store.acw.all(), store.calls.unfinished()])
  const inAcw = new Set(acw.map(e => e.agentId))
  const onCall = new Set(calls.flatMap(c => c.agentId !== undefined && ['connected', 'transferring'].includes(c.state) ? [c.agentId] : []))
  return id => onCall.has(id) ? 'on a call' : inAcw.has(id) ? 'in ACW' : undefined
}

export async function agentsCommand (args: string[], config: Config, io: Io, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '--help' || sub === '-h') { await io.out(`usage:\n${agentsUsage}\n`); return sub === undefined ? 2 : 0 }
  if (!['list', 'add', 'remove', 'token'].includes(sub)) throw new UsageError(`unknown agents command "${sub}"`)
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      queues: { type: 'string' },
      unit: { type: 'string' },
      'unit-pelayanan': { type: 'string' },
      name: { type: 'string' },
      interface: { type: 'string' },
      'revoke-others': { type: 'boolean' }
    },
    allowPositionals: true,
    strict: true
  })
  const allowed: Record<string, string[]> = { list: [], add: ['queues', 'unit', 'unit-pelayanan', 'name', 'interface'], remove: [], token: ['name', 'revoke-others'] }
  const extra = Object.keys(values).filter(k => !(allowed[sub] ?? []).includes(k))
  if (extra.length > 0) throw new UsageError(`agents ${sub} does not take --${extra.join(', --')}`)
  const [id, ...more] = positionals
  if (sub === 'list' ? positionals.length > 0 : id === undefined || more.length > 0) throw new UsageError(sub === 'list' ? 'agents list takes no arguments' : `agents ${sub} needs exactly one agent id`)

  const store = await openCliStore(storeConfigOf(config.store))
  try {
    const directory = new AgentDirectory(config.agents)
    const [agents, tokens] = await Promise.all([store.agents.all(), store.agents.tokens()])
    directory.load(agents, tokens)
    const { repo, audit } = straightAgents(store)
    const admin = new AgentAdmin({ directory, repo, audit, technologies: config.agentInterfaces.technologies, busy: await busyInStore(store), fieldName: cliField })
    // Who did it, for the audit trail: the operator's login at this shell.
    const by: Actor = { name: `cli:${env.USER ?? env.LOGNAME ?? 'unknown'}`, role: 'admin' }
    const agentId = id as string
    switch (sub) {
      case 'list':
        await io.out('id\tsource\tinterface\tqueues\tunit\tunitPelayanan\tname\n')
        for (const a of admin.list()) {
          await io.out(`${[a.id, a.inConfig ? 'config' : 'store', a.interface ?? '', a.queues.join(','), a.unit, a.unitPelayanan, a.name ?? ''].join('\t')}\n`)
        }
        return 0
      case 'add': {
        for (const [opt, v] of [['queues', values.queues], ['unit', values.unit], ['unit-pelayanan', values['unit-pelayanan']]] as const) {
          if (v === undefined) throw new UsageError(`agents add needs --${opt}`)
        }
        const { agent, created } = await admin.put(agentId, {
          queues: (values.queues as string).split(',').map(q => q.trim()),
          unit: values.unit as string,
          unitPelayanan: values['unit-pelayanan'] as string,
          ...(values.name !== undefined ? { name: values.name } : {}),
          ...(values.interface !== undefined ? { interface: values.interface } : {})
        }, by)
        await io.out(`${created ? 'created' : 'changed'} agent ${agent.id}${agent.interface === undefined ? ' (no interface: matched to no phone until it has one)' : ''}\n`)
        return 0
      }
      case 'remove':
        await admin.remove(agentId, by)
        await io.out(`removed agent ${agentId} and revoked its tokens\n`)
        return 0
      default: {
        const issued = await admin.issueToken(agentId, { ...(values.name !== undefined ? { name: values.name } : {}), revokeOthers: values['revoke-others'] === true }, by)
        // The token on stdout alone (for a pipe); what it is on stderr. Shown this once.
        await io.out(`${issued.token}\n`)
        await io.err(`token "${issued.name}" for agent ${agentId}${issued.revokedOthers ? '; its older tokens are revoked' : ''}: shown once, keep it now\n`)
        return 0
      }
    }
  } finally {
    await store.close()
  }
}
