// Agent and token changes reach every instance at once on PostgreSQL: the committing
// transaction notifies (LISTEN/NOTIFY, delivered at COMMIT) and the other instances
// re-read their agent directory then, not at their next poll. Two agents wirings on one
// real database stand for two instances; their polls are set to ten minutes, so only the
// notification can carry the change. Outcomes are asserted, never speeds.
import pino from 'pino'
import t, { type Test } from 'tap'
import { tokenDigest } from '../../src/agents/tokens.ts'
import { wireAgents, type AgentsWiring } from '../../src/wiring/agents.ts'
import { wireStore, type StoreWiring } from '../../src/wiring/store.ts'
import { waitFor } from '../helpers/ami.ts'
import { testConfig } from '../helpers/config.ts'
import { storeEnv } from '../helpers/engines.ts'

const log = pino({ level: 'silent' })
const TEN_MINUTES = 600_000
const agent = { id: '2001', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }

async function instance (t: Test, env: NodeJS.ProcessEnv): Promise<{ store: StoreWiring, agents: AgentsWiring }> {
  const config = testConfig(5038, () => {}, env)
  const store = await wireStore(config, log)
  const agents = await wireAgents(config, log, store, { pollMs: TEN_MINUTES })
  agents.start()
  t.teardown(async () => { agents.stop(); await store.journal.close(2000); await store.store.close() })
  return { store, agents }
}

t.test('postgres: a token issued, then revoked, on one instance is known, then refused, on the other without waiting for a poll', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const a = await instance(t, env)
  const b = await instance(t, env)
  const token = 'run-time-token-of-agent-2001-abcdefghijklmnop'
  const digest = tokenDigest(token)
  const at = new Date().toISOString()
  await a.agents.repo.transaction(() => {
    a.agents.repo.save(agent, at)
    a.agents.repo.addToken({ digest, agentId: '2001', name: 'desk 7' }, at)
  })
  await waitFor('the agent on the other instance', () => b.agents.directory.get('2001'), 10_000)
  t.match(b.agents.runTimeTokens(digest), { role: 'agent', agentId: '2001' }, 'the new token authenticates there')
  await a.agents.repo.transaction(() => { a.agents.repo.revokeTokens('2001', undefined, new Date().toISOString()) })
  await waitFor('the revocation on the other instance', () => b.agents.runTimeTokens(digest) === undefined ? true : undefined, 10_000)
  t.pass('revoked there too, long before its ten-minute poll')
})
