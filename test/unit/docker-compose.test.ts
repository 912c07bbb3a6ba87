// docker-compose.yml cannot run here (no Docker engine), so at least: it parses, it
// wires the two services, and every file or folder it mounts exists in the repo.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import YAML from 'yaml'

t.test('docker-compose.yml parses and mounts only files that exist', async t => {
  const doc = YAML.parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, { volumes?: string[], environment?: Record<string, string> }>, volumes?: Record<string, unknown> }
  t.same(Object.keys(doc.services).sort(), ['asterisk', 'cti'])
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
