// The admin API (CONTRACT.md section 7) on the real app: agents created, changed, listed
// and removed while the service runs; config agents refused (AGENT_IN_CONFIG); busy
// agents kept (AGENT_BUSY); bad input named by field; tokens issued, authenticating as
// their agent, and revoked at once; a change made by another process (the CLI, another
// instance) seen through the store's agents version.
import t from 'tap'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { migrations } from '../../src/store/migrations.ts'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { tokenDigest } from '../../src/agents/tokens.ts'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { asteriskWorks, startAppStack, type AppStack } from '../helpers/app-stack.ts'

const unit = { unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }
const put = async (s: AppStack, id: string, body: unknown, token: string = TOKENS.admin) => await s.request('PUT', `/v1/admin/agents/${id}`, { token, body })
const del = async (s: AppStack, id: string) => await s.request('DELETE', `/v1/admin/agents/${id}`, { token: TOKENS.admin })
const list = async (s: AppStack) => (await s.get('/v1/admin/agents', TOKENS.admin)).body as Array<Record<string, unknown>>

t.test('create, change, list, delete; config agents refused; bad input named by its field', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  const before = await list(s)
  t.strictSame(before.map(a => [a.id, a.inConfig, a.loggedIn]), [['1001', true, false], ['1002', true, false]], 'the config\'s agents, listed')
  t.equal((await s.get('/v1/admin/agents', TOKENS.supervisor)).status, 403, 'a supervisor is not an admin')

  const created = await put(s, '2001', { queues: ['pln123'], ...unit })
  t.equal(created.status, 201, 'created')
  t.strictSame(created.body, { id: '2001', queues: ['pln123'], ...unit, loggedIn: false, inConfig: false })
  t.equal((await s.get('/v1/agents/2001', TOKENS.supervisor)).body.state, 'offline', 'tracked at once: the supervisor sees it')

  const changed = await put(s, '2001', { name: 'Siti Aminah', queues: ['pln123', 'vip'], ...unit, interface: 'PJSIP/2001' })
  t.equal(changed.status, 200, 'changed')
  t.match(changed.body, { id: '2001', name: 'Siti Aminah', interface: 'PJSIP/2001', queues: ['pln123', 'vip'] })
  t.match((await list(s)).find(a => a.id === '2001'), { name: 'Siti Aminah', interface: 'PJSIP/2001', inConfig: false })
  t.ok(s.svc.tracker.isAgentLeg('2001', 'PJSIP/2001-0000000a'), 'the tracker matches its phone now')

  for (const [verb, res] of [['PUT', await put(s, '1001', { queues: ['pln123'], ...unit })], ['DELETE', await del(s, '1001')]] as const) {
    t.equal(res.status, 409, `${verb} on a config agent`)
    t.equal(res.body.error, 'AGENT_IN_CONFIG')
    t.match(res.body.message, /config file/, 'says where to change it')
  }

  const bad: Array<[string, unknown, string]> = [
    ['2002', { queues: ['pln123'], ...unit, interface: 'PSJIP/2002' }, 'body.interface'],
    ['2002', { queues: ['pln123'], ...unit, interface: 'PJSIP/2002\r\nAction: Originate' }, 'body.interface'],
    ['2002', { queues: ['pln123'], unit: 'DISTRIBUSI\nJAKARTA', unitPelayanan: 'UP3' }, 'body.unit'],
    ['2002', { queues: ['pln123'], unit: 'X', unitPelayanan: '  ' }, 'body.unitPelayanan'],
    ['2002', { queues: ['pln123', 'bad queue'], ...unit }, 'body.queues[1]'],
    ['2002', { queues: [], ...unit }, 'body.queues'],
    ['2002', { name: 'Siti\u0007', queues: ['pln123'], ...unit }, 'body.name'],
    ['2002', { queues: ['pln123'], unitPelayanan: 'UP3' }, 'body.unit'],
    ['2002', { queues: ['pln123'], ...unit, role: 'admin' }, 'body.role'],
    ['2002', { queues: ['pln123'], ...unit, interface: 'local/1001@agents/n' }, 'body.interface'],
    ['bad.id', { queues: ['pln123'], ...unit }, 'params.agentId']
  ]
  for (const [id, body, field] of bad) {
    const r = await put(s, id, body)
    t.equal(r.status, 400, `${JSON.stringify(body).slice(0, 70)} -> 400`)
    t.equal(r.body.field, field, `names ${field}`)
    t.ok(String(r.body.message).startsWith(`${field}:`), r.body.message)
  }
  t.notOk((await list(s)).some(a => a.id === '2002'), 'nothing of a refused agent was created')

  const gone = await del(s, '2001')
  t.equal(gone.status, 204)
  t.notOk((await list(s)).some(a => a.id === '2001'), 'removed')
  t.equal((await s.get('/v1/agents/2001', TOKENS.supervisor)).status, 404, 'no longer tracked')
  t.equal((await del(s, '2001')).status, 404, 'a second delete: not found')

  const audit = (await s.get('/v1/audit?limit=50', TOKENS.supervisor)).body as { entries?: Array<{ action: string, target: string, actor: string }> } | Array<{ action: string, target: string, actor: string }>
  const entries = Array.isArray(audit) ? audit : audit.entries ?? []
  t.strictSame(entries.filter(e => e.action.startsWith('agent.')).map(e => [e.action, e.target, e.actor]).reverse(),
    [['agent.create', '2001', 'admin'], ['agent.change', '2001', 'admin'], ['agent.remove', '2001', 'admin']], 'every change audited, by whom')
})

t.test('tokens: issued once, authenticate as their agent, revoked at once by revokeOthers and by removal; never audited', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  t.equal((await put(s, '2001', { queues: ['pln123'], ...unit })).status, 201)
  const issue = async (body?: unknown) => await s.request('POST', '/v1/admin/agents/2001/tokens', { token: TOKENS.admin, ...(body !== undefined ? { body } : {}) })

  const first = await issue()
  t.equal(first.status, 201)
  t.type(first.body.token, 'string')
  t.ok(first.body.token.length >= 32, 'at least 32 characters')
  t.equal(first.headers['cache-control'], 'no-store')
  const mine = await s.get('/v1/agents/2001', first.body.token)
  t.equal(mine.status, 200, 'the token authenticates as agent 2001')
  t.strictSame((await s.get('/v1/agents', first.body.token)).body.map((a: { id: string }) => a.id), ['2001'], 'and lists only itself')
  t.equal((await s.get('/v1/agents/1001', first.body.token)).status, 403, 'not another agent')
  t.equal((await s.get('/v1/admin/agents', first.body.token)).status, 403, 'an agent token is no admin')

  const second = await issue({ name: 'desk 7' })
  t.equal(second.status, 201)
  t.not(second.body.token, first.body.token, 'a new token each time')
  t.equal((await s.get('/v1/agents/2001', first.body.token)).status, 200, 'older tokens stay without revokeOthers')
  const third = await issue({ revokeOthers: true, name: 'desk 8' })
  t.equal(third.body.revokedOthers, true)
  t.equal((await s.get('/v1/agents/2001', first.body.token)).status, 401, 'revoked at once')
  t.equal((await s.get('/v1/agents/2001', second.body.token)).status, 401, 'revoked at once')
  t.equal((await s.get('/v1/agents/2001', third.body.token)).status, 200, 'the new one works')

  t.equal((await s.request('POST', '/v1/admin/agents/9999/tokens', { token: TOKENS.admin, body: {} })).status, 404, 'no token for an unknown agent')
  t.equal((await s.request('POST', '/v1/admin/agents/2001/tokens', { token: TOKENS.admin, body: { name: 'a\nb' } })).body.field, 'body.name')
  const forConfigAgent = await s.request('POST', '/v1/admin/agents/1002/tokens', { token: TOKENS.admin, body: {} })
  t.equal(forConfigAgent.status, 201, 'a config agent gets run-time tokens too')
  t.equal((await s.get('/v1/agents/1002', forConfigAgent.body.token)).status, 200)

  t.equal((await del(s, '2001')).status, 204)
  t.equal((await s.get('/v1/agents/2001', third.body.token)).status, 401, 'removing the agent revokes its tokens at once')

  const audit = JSON.stringify((await s.get('/v1/audit?limit=100', TOKENS.supervisor)).body)
  t.match(audit, /agent\.token\.issue/, 'issuing is audited')
  for (const tok of [first, second, third, forConfigAgent]) {
    t.notOk(audit.includes(tok.body.token), 'the audit never holds a token')
    t.notOk(audit.includes(tokenDigest(tok.body.token)), 'nor its digest')
  }
  const rows = await s.svc.store.agents.tokens()
  t.strictSame(rows.map(r => r.agentId), ['1002'], 'the store keeps only active tokens of existing agents')
  t.notOk(JSON.stringify(rows).includes(forConfigAgent.body.token), 'as digests')
})

t.test('AGENT_BUSY: not removed while on a call, in ACW or logged in; its phone not moved meanwhile', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  t.equal((await put(s, '2002', { queues: ['pln123'], ...unit, interface: 'PJSIP/2002' })).status, 201)
  const cti = async (body: unknown) => await s.post('/v1/cti/events', TOKENS.pbx, body)
  t.equal((await cti({ type: 'call.offered', callId: 'busy-1', data: { customerChannel: 'PJSIP/trunk-busy-1' } })).status, 202)
  t.equal((await cti({ type: 'call.answered', callId: 'busy-1', agentId: '2002', data: { agentChannel: 'PJSIP/2002-00000001' } })).status, 202, 'a CTI event names the run-time agent')

  const onCall = await del(s, '2002')
  t.equal(onCall.status, 409)
  t.equal(onCall.body.error, 'AGENT_BUSY')
  t.match(onCall.body.message, /on a call/)
  const move = await put(s, '2002', { queues: ['pln123'], ...unit, interface: 'PJSIP/2902' })
  t.equal(move.body.error, 'AGENT_BUSY', 'its phone is not moved under its call')
  t.equal((await put(s, '2002', { name: 'Budi', queues: ['pln123'], ...unit, interface: 'PJSIP/2002' })).status, 200, 'other fields may change')

  t.equal((await cti({ type: 'call.ended', callId: 'busy-1', data: { reason: 'caller hung up' } })).status, 202)
  await waitFor('ACW', () => s.svc.acw.entry('2002') !== undefined)
  const inAcw = await del(s, '2002')
  t.equal(inAcw.body.error, 'AGENT_BUSY')
  t.match(inAcw.body.message, /in ACW/)
  await waitFor('ACW over', () => s.svc.acw.entry('2002') === undefined)

  s.fake.send('Event: QueueMemberStatus\r\nQueue: pln123\r\nInterface: PJSIP/2002\r\nMemberName: PJSIP/2002\r\nStatus: 1\r\nPaused: 0\r\nPausedReason: \r\n\r\n')
  await waitFor('logged in', () => s.svc.tracker.agentStatus('2002')?.presence === 'online')
  t.equal((await list(s)).find(a => a.id === '2002')?.loggedIn, true, 'listed as logged in')
  const loggedIn = await del(s, '2002')
  t.equal(loggedIn.body.error, 'AGENT_BUSY')
  t.match(loggedIn.body.message, /logged in/)
  s.fake.send('Event: QueueMemberRemoved\r\nQueue: pln123\r\nInterface: PJSIP/2002\r\nMemberName: PJSIP/2002\r\nStatus: 5\r\nPaused: 0\r\n\r\n')
  await waitFor('logged out', () => s.svc.tracker.agentStatus('2002')?.presence === 'offline')
  t.equal((await del(s, '2002')).status, 204, 'removed once free')
})

t.test('a change made by another process on the store is seen within about a second', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  const other = await openSqliteStore(s.svc.config.store.path, [...migrations, ...apktMigrations], { mode: 'in-thread' })
  t.teardown(async () => { await other.close() })
  const token = 'another-process-token-0123456789abcdef'
  const at = new Date().toISOString()
  await other.commit([
    { kind: 'agent', agent: { id: '3001', interface: 'PJSIP/3001', queues: ['pln123'], ...unit }, at },
    { kind: 'agentToken', token: { digest: tokenDigest(token), agentId: '3001', name: 'cli' }, at }
  ])
  const deadline = Date.now() + 5000
  let status = 0
  while (Date.now() < deadline && status !== 200) {
    status = (await s.get('/v1/agents/3001', token)).status
    if (status !== 200) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.equal(status, 200, 'its agent is tracked and its token authenticates')
  t.ok(s.svc.tracker.isAgentLeg('3001', 'PJSIP/3001-00000001'))

  await other.commit([{ kind: 'agentRemoved', agentId: '3001', at: new Date().toISOString() }])
  const gone = Date.now() + 5000
  while (Date.now() < gone && status !== 401) {
    status = (await s.get('/v1/agents/3001', token)).status
    if (status !== 401) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.equal(status, 401, 'removed there: its token refused here')
  t.equal((await s.get('/v1/agents/3001', TOKENS.supervisor)).status, 404)
  t.strictSame((await list(s)).map(a => a.id), ['1001', '1002'], 'the config agents stay')
})

t.test('restarts: the config\'s agents are written to the store; one taken out of the file is removed, a run-time one stays', async t => {
  const first = await startAppStack(t, { handler: asteriskWorks })
  t.equal((await put(first, '2001', { queues: ['pln123'], ...unit, interface: 'PJSIP/2001' })).status, 201)
  t.strictSame((await first.svc.store.agents.all()).map(a => [a.id, a.fromConfig === true]), [['1001', true], ['1002', true], ['2001', false]])
  const file = first.svc.config.store.path
  await first.svc.stop()

  const second = await startAppStack(t, {
    handler: asteriskWorks,
    edit: raw => {
      raw.store.path = file
      raw.agents = raw.agents.filter((a: { id: string }) => a.id !== '1002')
      raw.auth.tokens = raw.auth.tokens.filter((k: { agent?: string }) => k.agent !== '1002')
    }
  })
  t.strictSame((await list(second)).map(a => [a.id, a.inConfig]), [['1001', true], ['2001', false]], 'the agent left the file: gone; the API\'s agent kept')
  t.strictSame((await second.svc.store.agents.all()).map(a => a.id), ['1001', '2001'])
  t.equal((await second.get('/v1/agents/1002', TOKENS.supervisor)).status, 404)
})
