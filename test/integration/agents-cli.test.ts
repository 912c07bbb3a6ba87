// `pln123-cti agents list|add|remove|token` on a real store file: in-process for the
// details, through the real executable once for the wiring (exit codes, stdout). The
// same checks as the admin API (src/agents/admin.ts), refusals named by option.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { tokenDigest } from '../../src/agents/tokens.ts'
import { main } from '../../src/cli/main.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const ALL = [...migrations, ...apktMigrations]

async function storeFile (t: Test): Promise<string> {
  const file = path.join(t.testdir(), 'cti.db')
  await (await openSqliteStore(file, ALL, { mode: 'in-thread' })).close()
  return file
}

async function run (argv: string[], file: string) {
  let out = ''
  let err = ''
  const code = await main(argv, { CTI_CONFIG: path.join(ROOT, 'config/default.yaml'), CTI_STORE_PATH: file, USER: 'ops' }, {
    out: async s => { out += s },
    err: async s => { err += s }
  })
  return { code, out, err }
}

const add = ['--queues', 'pln123,vip', '--unit', 'DISTRIBUSI JAKARTA RAYA', '--unit-pelayanan', 'UP3 TANJUNG PRIOK']

t.test('add, change, list, token, remove: the store holds what the API would; each change audited', async t => {
  const file = await storeFile(t)
  const listed = await run(['agents', 'list'], file)
  t.equal(listed.code, 0, listed.err)
  t.strictSame(listed.out.trimEnd().split('\n').map(l => l.split('\t').slice(0, 2)), [['id', 'source'], ['1001', 'config'], ['1002', 'config']], 'the config\'s agents')

  const created = await run(['agents', 'add', '2001', ...add], file)
  t.equal(created.code, 0, created.err)
  t.match(created.out, /created agent 2001 \(no interface/)
  const changed = await run(['agents', 'add', '2001', ...add, '--name', 'Siti', '--interface', 'PJSIP/2001'], file)
  t.equal(changed.code, 0, changed.err)
  t.match(changed.out, /^changed agent 2001\n$/)
  t.match((await run(['agents', 'list'], file)).out, /\n2001\tstore\tPJSIP\/2001\tpln123,vip\tDISTRIBUSI JAKARTA RAYA\tUP3 TANJUNG PRIOK\tSiti\n/)

  const first = await run(['agents', 'token', '2001'], file)
  t.equal(first.code, 0, first.err)
  const token = first.out.trim()
  t.ok(token.length >= 32 && !token.includes('\n'), 'the token alone on stdout')
  t.match(first.err, /shown once/)
  const second = await run(['agents', 'token', '2001', '--name', 'desk 7', '--revoke-others'], file)
  t.equal(second.code, 0, second.err)

  const store = await openSqliteStore(file, ALL, { mode: 'in-thread' })
  t.teardown(async () => { if (store.open) await store.close() })
  t.strictSame((await store.agents.all()).map(a => a.id), ['2001'], 'the CLI does not write the config\'s agents (the service does at start)')
  t.match((await store.agents.all())[0], { id: '2001', name: 'Siti', interface: 'PJSIP/2001', queues: ['pln123', 'vip'] })
  const tokens = await store.agents.tokens()
  t.strictSame(tokens.map(x => [x.digest, x.name]), [[tokenDigest(second.out.trim()), 'desk 7']], 'the older token revoked; only digests kept')
  t.notOk(tokens.some(x => x.digest === tokenDigest(token)))
  const audit = await store.audit.list()
  t.strictSame(audit.map(a => [a.action, a.actor]).reverse(), [['agent.create', 'cli:ops'], ['agent.change', 'cli:ops'], ['agent.token.issue', 'cli:ops'], ['agent.token.issue', 'cli:ops']])
  t.notOk(JSON.stringify(audit).includes(token), 'no token in the audit')

  // An ACW row for the agent (the running service's): the CLI refuses to remove it.
  await store.commit([{ kind: 'acw', entry: { agentId: '2001', startedAt: new Date().toISOString(), endsAt: new Date(Date.now() + 30_000).toISOString(), state: 'active', seconds: 30 } }])
  const busy = await run(['agents', 'remove', '2001'], file)
  t.equal(busy.code, 1)
  t.match(busy.err, /agent 2001 is in ACW/)
  await store.commit([{ kind: 'acwEnded', agentId: '2001' }])
  const removed = await run(['agents', 'remove', '2001'], file)
  t.equal(removed.code, 0, removed.err)
  t.strictSame(await store.agents.all(), [])
  t.strictSame(await store.agents.tokens(), [], 'its tokens revoked')
})

t.test('refusals: the same checks as the API, named by option; exit 1 for a refusal, 2 for wrong arguments', async t => {
  const file = await storeFile(t)
  const cases: Array<[string[], number, RegExp]> = [
    [['agents', 'add', '2002', ...add, '--interface', 'PSJIP/2002'], 1, /--interface: interface technology "PSJIP" is not allowed/],
    [['agents', 'add', '2002', '--queues', 'pln123,bad queue', '--unit', 'U', '--unit-pelayanan', 'P'], 1, /--queues \(item 2\): queue "bad queue"/],
    [['agents', 'add', '2002', '--queues', 'pln123', '--unit', 'U\u0007', '--unit-pelayanan', 'P'], 1, /--unit: unit contains a line break or a control character/],
    [['agents', 'add', 'bad.id', ...add], 1, /agent id: agent id "bad.id"/],
    [['agents', 'add', '1001', ...add], 1, /agent 1001 is listed in the config file/],
    [['agents', 'remove', '1002'], 1, /listed in the config file/],
    [['agents', 'remove', '9999'], 1, /no agent 9999/],
    [['agents', 'token', '9999'], 1, /no agent 9999/],
    [['agents', 'add', '2002', '--queues', 'pln123'], 2, /agents add needs --unit/],
    [['agents', 'token', '1001', '--queues', 'x'], 2, /does not take --queues/],
    [['agents', 'remove'], 2, /needs exactly one agent id/],
    [['agents', 'rename', '1001'], 2, /unknown agents command "rename"/]
  ]
  for (const [argv, code, message] of cases) {
    const r = await run(argv, file)
    t.equal(r.code, code, `${argv.slice(1, 3).join(' ')} ... -> ${code}`)
    t.match(r.err, message)
  }
  t.equal((await run(['agents', 'list'], file)).out.split('\n').filter(l => l.startsWith('2002')).length, 0, 'nothing of a refused agent written')
})

t.test('the real executable: bin/pln123-cti.js agents', async t => {
  const file = await storeFile(t)
  const exec = promisify(execFile)
  const env = { ...process.env, CTI_STORE_PATH: file }
  const bin = path.join(ROOT, 'bin/pln123-cti.js')
  const added = await exec(bin, ['agents', 'add', '2001', ...add, '--interface', 'PJSIP/2001'], { cwd: ROOT, env })
  t.match(added.stdout, /created agent 2001/)
  const failed = await exec(bin, ['agents', 'remove', '1001'], { cwd: ROOT, env }).then(() => undefined, (e: { code: number, stderr: string }) => e)
  t.equal(failed?.code, 1)
  t.match(failed?.stderr, /config file/)
})
