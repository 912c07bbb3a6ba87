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
  { kind: 'empty list', edit: r => { r.agents = [] }, names: /^agents: must not be empty/ }
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

t.test('every config key has an environment variable, and the README lists them all', async t => {
  const keys = envKeys(ConfigSchema)
  const readme = readFileSync('README.md', 'utf8')
  for (const k of keys) t.ok(readme.includes(`\`${k.env}\``), `README documents ${k.env}`)
  t.ok(keys.some(k => k.env === 'CTI_AMI_ACTION_TIMEOUT_MS' && k.kind === 'integer'))
  t.ok(keys.some(k => k.env === 'CTI_AUTH_TOKENS' && k.kind === 'json'))
})
