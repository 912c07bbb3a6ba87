// Config is validated once; every mistake is named by its key, all at once.
import t from 'tap'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.ts'
import { envKeys } from '../../src/config/env.ts'
import { ConfigSchema } from '../../src/config/schema.ts'
import { baseRawConfig } from '../helpers/config.ts'

function problemsOf (fn: () => unknown): string[] {
  try { fn() } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('config/default.yaml is valid and fills defaults', async t => {
  const c = loadConfig('config/default.yaml', {})
  t.equal(c.http.port, 8123)
  t.equal(c.ami.actionTimeoutMs, 5000)
  t.equal(c.ami.events, 'on', 'default filled')
  t.equal(c.acw.mode, 'fixed')
  t.same(c.directory[0], { index: 3, name: 'Contact Center ICONNET', context: 'direct-transfer', exten: '3' })
  t.same(c.store, { kind: 'sqlite', path: 'var/pln123-cti.db', poolSize: 10 }, 'the store is SQLite unless told otherwise')
})

t.test('store: a config with only store.path keeps meaning what it meant (SQLite at that path)', async t => {
  const raw = baseRawConfig()
  raw.store = { path: '/var/lib/pln123-cti/cti.db' }
  const c = parseConfig(raw)
  t.same(c.store, { kind: 'sqlite', path: '/var/lib/pln123-cti/cti.db', poolSize: 10 })
  t.equal(parseConfig(raw, { CTI_STORE_PATH: '/srv/other.db' }).store.path, '/srv/other.db')
  delete raw.store
  t.same(parseConfig(raw).store, { kind: 'sqlite', path: 'var/pln123-cti.db', poolSize: 10 }, 'no store section at all: the default file')
})

t.test('store: postgres takes its URL from CTI_STORE_URL only, and never shows it', async t => {
  const password = 's3cret-db-password'
  const url = `postgres://cti:${password}@10.0.0.9:5432/pln123`
  const pgRaw = (): Record<string, any> => { const r = baseRawConfig(); r.store = { kind: 'postgres' }; return r }
  const c = parseConfig(pgRaw(), { CTI_STORE_URL: url, CTI_STORE_POOL_SIZE: '20' })
  t.equal(c.store.kind, 'postgres')
  t.equal(c.store.url, url)
  t.equal(c.store.poolSize, 20)
  const plain = baseRawConfig()
  t.same(parseConfig(plain, { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: url }).store, { kind: 'postgres', path: plain.store.path, url, poolSize: 10 }, 'kind from the environment too; pool default 10')
  t.equal(parseConfig(pgRaw(), { CTI_STORE_URL: 'postgresql://cti@db/pln123' }).store.url, 'postgresql://cti@db/pln123', 'postgresql:// is accepted')

  const refused: Array<{ kind: string, raw: Record<string, any>, env: NodeJS.ProcessEnv, names: RegExp }> = [
    { kind: 'postgres without a URL', raw: pgRaw(), env: {}, names: /^store\.url: is required when store\.kind is postgres \(set CTI_STORE_URL\)$/ },
    { kind: 'a URL with kind sqlite', raw: baseRawConfig(), env: { CTI_STORE_URL: url }, names: /^store\.url: is for store\.kind postgres only, and store\.kind is sqlite/ },
    { kind: 'a URL in the file, even with CTI_STORE_URL set', raw: (() => { const r = pgRaw(); r.store.url = url; return r })(), env: { CTI_STORE_URL: url }, names: /^store\.url: not allowed in the config file .*CTI_STORE_URL/ },
    { kind: 'not a postgres URL', raw: pgRaw(), env: { CTI_STORE_URL: `http://cti:${password}@db/pln123` }, names: /^store\.url: must be a postgres:\/\/ or postgresql:\/\/ URL$/ },
    { kind: 'a malformed URL', raw: pgRaw(), env: { CTI_STORE_URL: `postgres://cti:${password}@db:port/pln123` }, names: /^store\.url: is not a valid URL \(the value is not shown: it holds a password\)$/ },
    { kind: 'a pool size that is not a number', raw: pgRaw(), env: { CTI_STORE_URL: url, CTI_STORE_POOL_SIZE: 'ten' }, names: /^CTI_STORE_POOL_SIZE \(store\.poolSize\): "ten" is not a number$/ },
    { kind: 'an unknown kind from the environment', raw: baseRawConfig(), env: { CTI_STORE_KIND: 'mysql' }, names: /^store\.kind: must be one of: sqlite, postgres$/ }
  ]
  for (const r of refused) {
    const problems = problemsOf(() => parseConfig(r.raw, r.env))
    t.ok(problems.some(p => r.names.test(p)), `${r.kind}: ${problems.join(' | ')}`)
    t.notOk(problems.join('\n').includes(password), `${r.kind}: the password is not in the error`)
  }
})

t.test('store: a URL in a config file is refused at load, naming the key and the variable', async t => {
  const dir = t.testdir({
    'pg.yaml': readFileSync('config/default.yaml', 'utf8').replace(/^store:.*$/m, 'store: { kind: postgres, url: "postgres://cti:hunter2@db/pln123" }')
  })
  t.ok(readFileSync(path.join(dir, 'pg.yaml'), 'utf8').includes('hunter2'), 'the file does hold the URL')
  const problems = problemsOf(() => loadConfig(path.join(dir, 'pg.yaml'), { CTI_AMI_SECRET: 'x', CTI_APKT_TOKEN: 'y' }))
  t.match(problems.join('\n'), /store\.url: not allowed in the config file .*set CTI_STORE_URL/)
  t.notMatch(problems.join('\n'), /hunter2/)
})

const mistakes: Array<{ kind: string, edit: (raw: any) => void, names: RegExp }> = [
  { kind: 'unknown key (typo)', edit: r => { r.ami.secert = 'x' }, names: /^ami\.secert: unknown key/ },
  { kind: 'unknown key, with the keys allowed there', edit: r => { r.ami.secert = 'x' }, names: /^ami\.secert: unknown key \(allowed here: host, port, username, secret, / },
  { kind: 'wrong type', edit: r => { r.http.port = 'eighty' }, names: /^http\.port: must be integer/ },
  { kind: 'out of range', edit: r => { r.ami.port = 70000 }, names: /^ami\.port: must be <= 65535/ },
  { kind: 'not one of the allowed values', edit: r => { r.acw.mode = 'relaxed' }, names: /^acw\.mode: must be one of: fixed, early-exit/ },
  { kind: 'missing required key', edit: r => { delete r.ami.username }, names: /^ami\.username: is required/ },
  { kind: 'header injection in a value that reaches AMI', edit: r => { r.directory[0].context = 'direct-transfer\r\nAction: Originate' }, names: /^directory\[0\]\.context: has a form or characters that are not allowed/ },
  { kind: 'agent token bound to an unknown agent', edit: r => { r.auth.tokens[2].agent = '9999' }, names: /^auth\.tokens\[2\]\.agent: "9999" is not an id in agents/ },
  { kind: 'duplicate agent id', edit: r => { r.agents[1].id = '1001' }, names: /^agents: id "1001" appears more than once/ },
  { kind: 'token too short', edit: r => { r.auth.tokens[0].token = 'abc' }, names: /^auth\.tokens\[0\]\.token: must NOT have fewer than 16 characters/ },
  { kind: 'empty list', edit: r => { r.directory = [] }, names: /^directory: must not be empty/ },
  { kind: 'agent token with no agents in the file', edit: r => { r.agents = [] }, names: /^auth\.tokens\[2\]\.agent: "1001" is not an id in agents/ },
  { kind: 'unknown store kind', edit: r => { r.store.kind = 'mysql' }, names: /^store\.kind: must be one of: sqlite, postgres/ },
  { kind: 'pool too small', edit: r => { r.store.poolSize = 0 }, names: /^store\.poolSize: must be >= 1/ },
  { kind: 'pool too large', edit: r => { r.store.poolSize = 101 }, names: /^store\.poolSize: must be <= 100/ },
  { kind: 'pool not an integer', edit: r => { r.store.poolSize = 2.5 }, names: /^store\.poolSize: must be integer/ },
  { kind: 'store URL in the file (a secret)', edit: r => { r.store = { kind: 'postgres', url: 'postgres://cti:pw@db:5432/pln123' } }, names: /^store\.url: not allowed in the config file \(it holds the database password\); remove it and set CTI_STORE_URL in the environment$/ }
]

for (const m of mistakes) {
  t.test(`refused: ${m.kind}`, async t => {
    const raw = baseRawConfig()
    m.edit(raw)
    const problems = problemsOf(() => parseConfig(raw))
    t.ok(problems.some(p => m.names.test(p)), `named: ${problems.join(' | ')}`)
  })
}

t.test('several mistakes at once are all named in one error', async t => {
  const raw = baseRawConfig()
  for (const m of mistakes.slice(0, 6)) m.edit(raw)
  const problems = problemsOf(() => parseConfig(raw))
  for (const m of mistakes.slice(0, 6)) t.ok(problems.some(p => m.names.test(p)), m.kind)
})

t.test('YAML mistakes are named too', async t => {
  const dir = t.testdir({
    'syntax.yaml': 'http: { host: 127.0.0.1, port: 8123\nami: [',
    'dupe.yaml': 'http: { port: 1 }\nhttp: { port: 2 }\n',
    'list.yaml': '- just\n- a list\n'
  })
  t.match(problemsOf(() => loadConfig(path.join(dir, 'syntax.yaml'))).join(), /YAML/)
  t.match(problemsOf(() => loadConfig(path.join(dir, 'dupe.yaml'))).join(), /YAML: Map keys must be unique/)
  t.match(problemsOf(() => loadConfig(path.join(dir, 'list.yaml'))).join(), /must hold a YAML mapping/)
  t.match(problemsOf(() => loadConfig(path.join(dir, 'missing.yaml'))).join(), /cannot read .*missing\.yaml: ENOENT/)
})

t.test('environment overrides: scalars coerced, lists as JSON, secrets from env only', async t => {
  const raw = baseRawConfig()
  delete raw.ami.secret
  delete raw.apkt.token
  const tokens = [{ token: 'env-supervisor-token-000', role: 'supervisor' }]
  const c = parseConfig(raw, {
    CTI_AMI_SECRET: 'from-env',
    CTI_APKT_TOKEN: 'apkt-from-env',
    CTI_AMI_PORT: '6038',
    CTI_ACW_MODE: 'early-exit',
    CTI_AUTH_TOKENS: JSON.stringify(tokens),
    CTI_HTTP_HOST: '0.0.0.0'
  })
  t.equal(c.ami.secret, 'from-env')
  t.equal(c.apkt.token, 'apkt-from-env')
  t.equal(c.ami.port, 6038)
  t.equal(c.acw.mode, 'early-exit')
  t.same(c.auth.tokens, tokens)
  t.equal(c.http.host, '0.0.0.0')
  t.match(problemsOf(() => parseConfig(raw, {})).join('|'), /ami\.secret: is required.*apkt\.token: is required|apkt\.token: is required.*ami\.secret: is required/)
  t.match(problemsOf(() => parseConfig(baseRawConfig(), { CTI_AMI_PORT: 'x' })).join(), /CTI_AMI_PORT \(ami\.port\): "x" is not a number/)
  t.match(problemsOf(() => parseConfig(baseRawConfig(), { CTI_AGENTS: '[{' })).join(), /CTI_AGENTS \(agents\): not valid JSON/)
  t.match(problemsOf(() => parseConfig(baseRawConfig(), { CTI_ACW_SECONDS: '-5' })).join(), /acw\.seconds: must be >= 0/)
})

t.test('agents may be left out (all managed at run time): an empty list, and ACW settings by queue or agent are not checked against it', async t => {
  const raw = baseRawConfig()
  delete raw.agents
  raw.auth.tokens = raw.auth.tokens.filter((x: { role: string }) => x.role !== 'agent')
  raw.acw.perQueue = { vip: 60 }
  raw.acw.perAgent = { 2001: 10 }
  const c = parseConfig(raw, {})
  t.strictSame(c.agents, [])
  t.same(c.acw.perQueue, { vip: 60 })
  // With agents in the file the cross references are checked as before.
  const listed = baseRawConfig()
  listed.acw.perQueue = { vip: 60 }
  t.match(problemsOf(() => parseConfig(listed, {})).join('|'), /acw\.perQueue\.vip: no agent is in queue "vip"/)
})

t.test('every config key has an environment variable, and the README lists them all', async t => {
  const keys = envKeys(ConfigSchema)
  const readme = readFileSync('README.md', 'utf8')
  for (const k of keys) t.ok(readme.includes(`\`${k.env}\``), `README documents ${k.env}`)
  t.ok(keys.some(k => k.env === 'CTI_AMI_ACTION_TIMEOUT_MS' && k.kind === 'integer'))
  t.ok(keys.some(k => k.env === 'CTI_AUTH_TOKENS' && k.kind === 'json'))
  for (const [env, kind] of [['CTI_STORE_KIND', 'string'], ['CTI_STORE_URL', 'string'], ['CTI_STORE_POOL_SIZE', 'integer'], ['CTI_STORE_PATH', 'string']]) {
    t.ok(keys.some(k => k.env === env && k.kind === kind), `${env} (${kind})`)
  }
})
