// config/postgres/10-cti-role.sh (run by the postgres image of docker-compose.yml on an
// empty volume) against a real PostgreSQL: it makes the role CTI_STORE_URL names, owner
// of its database and not a superuser, and a password with quotes in it survives.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import pg from 'pg'
import { binDir, needPostgres } from '../helpers/postgres.ts'

t.test('the compose init script makes the service role and database', async t => {
  const cluster = await needPostgres(t)
  if (cluster === undefined) return
  const admin = new URL(cluster.adminUrl)
  const role = `svc_${process.pid}`
  const db = `pln123_${process.pid}`
  const password = `it's "quoted" ; DROP ROLE cti; --`
  const run = (): ReturnType<typeof spawnSync> => spawnSync('sh', ['config/postgres/10-cti-role.sh'], {
    encoding: 'utf8',
    env: {
      PATH: `${binDir() ?? ''}:${process.env.PATH ?? ''}`,
      // What the image provides (POSTGRES_USER over its socket); here, the test cluster over TCP.
      POSTGRES_USER: decodeURIComponent(admin.username),
      PGHOST: cluster.host,
      PGPORT: String(cluster.port),
      PGPASSWORD: decodeURIComponent(admin.password),
      CTI_DB_PASSWORD: password,
      CTI_DB_USER: role,
      CTI_DB_NAME: db
    }
  })
  const first = run()
  t.equal(first.status, 0, `the script succeeds: ${String(first.stderr)}`)
  t.teardown(async () => {
    const c = new pg.Client(cluster.adminUrl)
    await c.connect()
    await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`)
    await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`)
    await c.end()
  })

  const url = `postgres://${role}:${encodeURIComponent(password)}@${cluster.host}:${cluster.port}/${db}`
  const c = new pg.Client(url)
  c.on('error', () => {})
  await c.connect()
  t.teardown(() => c.end().catch(() => {}))
  const me = await c.query<{ super: boolean, createrole: boolean, createdb: boolean, owner: string }>(
    `SELECT r.rolsuper AS super, r.rolcreaterole AS createrole, r.rolcreatedb AS createdb, pg_get_userbyid(d.datdba) AS owner
     FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()`)
  t.same(me.rows, [{ super: false, createrole: false, createdb: false, owner: role }], 'logs in with the URL; owner, not a superuser')
  await c.query('CREATE TABLE migrations_probe (v int)')
  t.pass('can create its tables (the service migrates its own schema)')

  const again = run()
  t.not(again.status, 0, 'a second run fails loudly (the image runs it once, on an empty volume)')
  const noPassword = spawnSync('sh', ['config/postgres/10-cti-role.sh'], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  t.not(noPassword.status, 0, 'without CTI_DB_PASSWORD it refuses')
  t.match(noPassword.stderr, /CTI_DB_PASSWORD/, 'naming the variable')
})
