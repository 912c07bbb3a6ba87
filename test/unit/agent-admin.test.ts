// The admin service (src/agents/admin.ts) on its own: a change is taken by the directory
// only once durable; a store that cannot take it answers 503 and changes nothing here.
import t from 'tap'
import { AgentAdmin } from '../../src/agents/admin.ts'
import { AgentDirectory } from '../../src/agents/directory.ts'
import type { AgentRepository } from '../../src/agents/repository.ts'
import { assertStoreReady, durableWithin, type Durability } from '../../src/calls/durable.ts'

const unit = { unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }
const by = { name: 'admin', role: 'admin' }

function repo (commit: () => Promise<void>): AgentRepository & { writes: string[] } {
  const writes: string[] = []
  return {
    writes,
    transaction: fn => { fn(); return commit() },
    save: a => { writes.push(`save ${a.id}`) },
    remove: id => { writes.push(`remove ${id}`) },
    addToken: tk => { writes.push(`token ${tk.agentId}`) },
    revokeTokens: id => { writes.push(`revoke ${id}`) },
    load: async () => ({ agents: [], tokens: [] }),
    version: async () => 0
  }
}

function admin (r: AgentRepository, d: AgentDirectory, durability: Durability): AgentAdmin {
  return new AgentAdmin({
    directory: d,
    repo: r,
    audit: { record: () => {} },
    technologies: ['PJSIP'],
    busy: () => undefined,
    durable: async (saved, what) => { if (saved === undefined) assertStoreReady(durability, what); else await durableWithin(saved, durability, what) }
  })
}

t.test('the directory takes a change once it is durable, not before', async t => {
  let release!: () => void
  const r = repo(async () => await new Promise<void>(resolve => { release = resolve }))
  const d = new AgentDirectory([])
  const a = admin(r, d, { ready: () => true, why: () => 'x', commitTimeoutMs: 2000 })
  const pending = a.put('2001', { queues: ['pln123'], ...unit }, by)
  await new Promise(resolve => setImmediate(resolve))
  t.strictSame(r.writes, ['save 2001'], 'written')
  t.equal(d.get('2001'), undefined, 'not in the directory while not durable')
  release()
  t.match(await pending, { created: true })
  t.ok(d.has('2001'), 'in the directory once durable')
})

t.test('a store in an outage: 503 at once, nothing written; a commit that does not come: 503, nothing taken', async t => {
  const d = new AgentDirectory([])
  const away = repo(async () => {})
  await t.rejects(admin(away, d, { ready: () => false, why: () => 'the disk is full', commitTimeoutMs: 100 }).put('2001', { queues: ['pln123'], ...unit }, by), { code: 'STORE_UNAVAILABLE', message: /disk is full/ })
  t.strictSame(away.writes, [], 'nothing handed to the store')
  const slow = repo(async () => await new Promise<void>(() => {}))
  await t.rejects(admin(slow, d, { ready: () => true, why: () => 'x', commitTimeoutMs: 50 }).put('2001', { queues: ['pln123'], ...unit }, by), { code: 'STORE_UNAVAILABLE' })
  t.equal(d.get('2001'), undefined, 'not taken')
  const refused = repo(async () => { throw new Error('constraint') })
  await t.rejects(admin(refused, d, { ready: () => true, why: () => 'it refused the change', commitTimeoutMs: 50 }).issueToken('2001', {}, by), { code: 'AGENT_NOT_FOUND' }, 'no token for an agent that was never created')
})
