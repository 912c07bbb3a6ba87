// test/store/install-postgres.sh (npm run pretest): ready when PostgreSQL is there; when
// it is missing (a PLN123_PG_BIN without initdb stands in for that, since this machine
// has it installed), it fails with the reason unless PLN123_ALLOW_MISSING names postgres.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { binDir, probePostgres } from '../helpers/postgres.ts'
import { needPart } from '../helpers/real-parts.ts'

const script = (env: NodeJS.ProcessEnv): { status: number | null, out: string } => {
  const r = spawnSync('bash', ['test/store/install-postgres.sh'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } })
  return { status: r.status, out: r.stdout + r.stderr }
}

t.test('installed: ready, and says where', async t => {
  if (await needPart(t, 'postgres', probePostgres) === undefined) return
  const bin = binDir()
  const r = script({})
  t.equal(r.status, 0)
  t.match(r.out, `postgresql ready at ${bin}`)
})

t.test('missing: exit 1 with the reason; the opt-out turns it into a message and exit 0', async t => {
  const missing = { PLN123_PG_BIN: '/nonexistent/pg/bin' }
  const failed = script(missing)
  t.equal(failed.status, 1)
  t.match(failed.out, /postgresql is missing: PLN123_PG_BIN=\/nonexistent\/pg\/bin holds no initdb \(set PLN123_ALLOW_MISSING=postgres/)
  for (const optOut of ['postgres', 'all', 'chromium,postgres']) {
    const allowed = script({ ...missing, PLN123_ALLOW_MISSING: optOut })
    t.equal(allowed.status, 0, `PLN123_ALLOW_MISSING=${optOut}`)
    t.match(allowed.out, /postgresql is missing: .*allowed by PLN123_ALLOW_MISSING/)
  }
  t.equal(script({ ...missing, PLN123_ALLOW_MISSING: 'chromium' }).status, 1, 'an opt-out for another part does not count')
})
