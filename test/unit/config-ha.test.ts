// Config `ha` (CONTRACT.md section 6): optional; from the file or CTI_HA_*; leaseMs has a
// default and bounds; a group needs the PostgreSQL store, and each mistake names its key.
import t from 'tap'
import { ConfigError, parseConfig } from '../../src/config/load.ts'
import { baseRawConfig } from '../helpers/config.ts'

const PG = { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: 'postgres://cti:secret-pw@db:5432/pln123' }

function problemsOf (fn: () => unknown): string[] {
  try { fn() } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('ha: absent by default; from the file or the environment; leaseMs defaults to 5000', async t => {
  t.equal(parseConfig(baseRawConfig(), PG).ha, undefined, 'no ha: a single instance')
  const raw = baseRawConfig()
  raw.ha = { instanceId: 'cti-a', advertiseUrl: 'http://10.0.0.5:8123' }
  t.same(parseConfig(raw, PG).ha, { instanceId: 'cti-a', advertiseUrl: 'http://10.0.0.5:8123', leaseMs: 5000 })
  const env = { ...PG, CTI_HA_INSTANCE_ID: 'cti-b', CTI_HA_ADVERTISE_URL: 'http://10.0.0.6:8123', CTI_HA_LEASE_MS: '2000' }
  t.same(parseConfig(baseRawConfig(), env).ha, { instanceId: 'cti-b', advertiseUrl: 'http://10.0.0.6:8123', leaseMs: 2000 }, 'all from CTI_HA_*')
})

t.test('ha: mistakes are named by their key', async t => {
  const withHa = (ha: Record<string, unknown>): Record<string, any> => { const r = baseRawConfig(); r.ha = ha; return r }
  const ok = { instanceId: 'cti-a', advertiseUrl: 'http://10.0.0.5:8123' }
  t.match(problemsOf(() => parseConfig(withHa(ok), {})), [/^ha: an HA group needs store\.kind postgres/], 'with the SQLite store')
  t.match(problemsOf(() => parseConfig(withHa({ ...ok, leaseMs: 100 }), PG)).join('\n'), /ha\.leaseMs/, 'a lease too short')
  t.match(problemsOf(() => parseConfig(withHa({ ...ok, leaseMs: 3_600_000 }), PG)).join('\n'), /ha\.leaseMs/, 'a lease too long')
  t.match(problemsOf(() => parseConfig(withHa({ advertiseUrl: ok.advertiseUrl }), PG)).join('\n'), /ha.*instanceId/, 'no instanceId')
  t.match(problemsOf(() => parseConfig(withHa({ ...ok, advertiseUrl: '10.0.0.5:8123' }), PG)).join('\n'), /ha\.advertiseUrl/, 'not a URL')
  t.match(problemsOf(() => parseConfig(baseRawConfig(), { ...PG, CTI_HA_LEASE_MS: '2000' })).join('\n'), /ha.*instanceId/, 'CTI_HA_LEASE_MS alone is not a group')
})
