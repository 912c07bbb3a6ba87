// docker-compose.yml cannot run here (no Docker engine), so at least: it parses, it
// wires the services, and every file or folder it mounts exists in the repo.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import YAML from 'yaml'

interface Service {
  image?: string
  profiles?: string[]
  command?: string[]
  volumes?: string[]
  environment?: Record<string, string | null>
  depends_on?: Record<string, { condition?: string, required?: boolean }>
  healthcheck?: { test?: string[] }
}
const readCompose = (): { services: Record<string, Service>, volumes?: Record<string, unknown> } =>
  YAML.parse(readFileSync('docker-compose.yml', 'utf8'))

t.test('docker-compose.yml parses and mounts only files that exist', async t => {
  const doc = readCompose()
  t.same(Object.keys(doc.services).sort(), ['asterisk', 'cti', 'cti-a', 'cti-b', 'cti-lb', 'postgres'])
  const named = new Set(Object.keys(doc.volumes ?? {}))
  let checked = 0
  for (const [name, svc] of Object.entries(doc.services)) {
    for (const v of svc.volumes ?? []) {
      const [src] = v.split(':')
      if (src === undefined) { t.fail(`${name}: empty volume`); continue }
      if (src.startsWith('./')) {
        t.ok(existsSync(src), `${name} mounts ${src}, which exists`)
        checked++
      } else {
        t.ok(named.has(src), `${name} uses named volume ${src}, which is declared`)
      }
    }
  }
  t.ok(checked >= 5, 'bind mounts were checked')
  const env = doc.services.cti?.environment ?? {}
  for (const secret of ['CTI_AMI_SECRET', 'CTI_APKT_TOKEN', 'CTI_AUTH_TOKENS']) {
    t.match(env[secret], /^\$\{/, `${secret} comes from the environment, not the file`)
  }
})

t.test('PostgreSQL is an option (profile postgres), not a default, and keeps its secrets out of the file', async t => {
  const { services, volumes } = readCompose()
  const pg = services.postgres
  const cti = services.cti
  if (pg === undefined || cti === undefined) { t.fail('no postgres or cti service'); return }
  t.same(pg.profiles, ['postgres', 'ha'], 'started only with --profile postgres (or ha, the group)')
  t.notOk(services.asterisk?.profiles ?? cti.profiles, 'asterisk and cti start without a profile')
  t.match(pg.image, /^postgres:15(\.|-|$)/, 'PostgreSQL 15, as tested')
  t.ok(pg.volumes?.includes('postgres-data:/var/lib/postgresql/data'), 'its data on a named volume')
  t.ok(volumes !== undefined && 'postgres-data' in volumes, 'the volume is declared')
  t.ok(pg.volumes?.includes('./config/postgres:/docker-entrypoint-initdb.d:ro'), 'the init script that makes the service role is mounted')
  t.match(pg.healthcheck?.test?.join(' '), /pg_isready/, 'healthy = pg_isready answers')
  const args = pg.command?.join(' ') ?? ''
  t.match(args, /listen_addresses=127\.0\.0\.1/, 'listens on loopback only')
  t.notMatch(args, /fsync=off|synchronous_commit=off/, 'durability is not traded away')
  const env = pg.environment ?? {}
  for (const secret of ['POSTGRES_PASSWORD', 'CTI_DB_PASSWORD']) t.match(env[secret], /^\$\{/, `${secret} comes from the environment`)
  t.notMatch(JSON.stringify(pg), /trust/, 'no trust authentication')
  t.match(env.POSTGRES_INITDB_ARGS, /--auth-host=scram-sha-256/)

  const ctiEnv = cti.environment ?? {}
  t.match(ctiEnv.CTI_STORE_KIND, /^\$\{CTI_STORE_KIND:-sqlite\}$/, 'the store stays SQLite unless .env says postgres')
  t.ok('CTI_STORE_URL' in ctiEnv, 'cti is given CTI_STORE_URL')
  t.equal(ctiEnv.CTI_STORE_URL, null, 'passed through from .env or the shell only when set there (a literal, or an empty value, would be wrong)')
  t.same(cti.depends_on?.postgres, { condition: 'service_healthy', required: false }, 'cti waits for a healthy database only when the profile runs it')
})

t.test('an HA group (profile ha): two instances on PostgreSQL, a load balancer checking /readyz', async t => {
  const { services } = readCompose()
  const a = services['cti-a']
  const b = services['cti-b']
  const lb = services['cti-lb']
  if (a === undefined || b === undefined || lb === undefined) { t.fail('no cti-a, cti-b or cti-lb'); return }
  for (const [name, svc] of [['cti-a', a], ['cti-b', b], ['cti-lb', lb]] as const) t.same(svc.profiles, ['ha'], `${name} runs only with --profile ha`)
  const ports: string[] = []
  for (const [name, svc] of [['cti-a', a], ['cti-b', b]] as const) {
    const env = svc.environment ?? {}
    t.equal(env.CTI_HA_INSTANCE_ID, name, `${name}: its own instance id`)
    t.equal(env.CTI_STORE_KIND, 'postgres', `${name}: on PostgreSQL`)
    t.equal(env.CTI_STORE_URL, null, `${name}: the database URL (a secret) from .env or the shell`)
    for (const secret of ['CTI_AMI_SECRET', 'CTI_APKT_TOKEN', 'CTI_AUTH_TOKENS']) t.match(env[secret], /^\$\{/, `${name}: ${secret} from the environment`)
    const port = env.CTI_HTTP_PORT ?? ''
    t.match(port, /^\d+$/, `${name}: its own port`)
    t.equal(new URL(env.CTI_HA_ADVERTISE_URL ?? 'x:').port, port, `${name}: advertises the port it listens on`)
    t.match(env.CTI_HA_LEASE_MS, /^\d+$/)
    t.match(svc.healthcheck?.test?.join(' '), new RegExp(`127\\.0\\.0\\.1:${port}/readyz`), `${name}: healthy = its own /readyz`)
    t.same(svc.depends_on?.postgres, { condition: 'service_healthy' }, `${name}: starts once the database answers`)
    ports.push(port)
  }
  t.not(ports[0], ports[1], 'the instances listen on different ports')
  t.not(ports[0], '8123', 'the load balancer keeps the single service\'s port')

  const mount = (lb.volumes ?? []).find(v => v.includes('haproxy.cfg'))
  t.ok(mount !== undefined, 'the load balancer\'s config is mounted')
  const cfg = readFileSync(mount?.split(':')[0] ?? '', 'utf8')
  t.match(cfg, /bind 127\.0\.0\.1:8123/, 'clients keep 127.0.0.1:8123')
  t.match(cfg, /http-check send meth GET uri \/readyz/, 'its health check is GET /readyz')
  t.match(cfg, /http-check expect status 200/)
  for (const port of ports) t.match(cfg, new RegExp(`server cti-[ab] 127\\.0\\.0\\.1:${port} check`), `it checks and balances the instance on ${port}`)
  t.match(cfg, /retry-on conn-failure/, 'it tries again only what never reached an instance')
  t.notMatch(cfg, /retry-on[^\n]*(all-retryable-errors|response-timeout|5\d\d|empty-response)/, 'never a request an instance may have acted on')
})
