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
  t.same(Object.keys(doc.services).sort(), ['asterisk', 'cti', 'postgres'])
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
  t.same(pg.profiles, ['postgres'], 'started only with --profile postgres')
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
