// Service configuration for benchmarks: the tests' base config (test/helpers/config.ts)
// with N agents and an agent token each, and the per-token rate limit raised out of
// the way (a benchmark sends in seconds what the PBX sends in an hour; the limiter
// still runs on every request, it just never refuses).
import { parseConfig } from '../../../src/config/load.ts'
import { HttpConfig, type Config } from '../../../src/config/schema.ts'
import { baseRawConfig, TOKENS } from '../../helpers/config.ts'
import { agentIds, memberInterface } from './ami-stream.ts'

export { TOKENS }

export const agentToken = (agentId: string): string => `bench-agent-${agentId}-token-0123456789`

export interface BenchConfigOptions {
  amiPort: number
  agents?: number
  storePath?: string
  logLevel?: string
  acwSeconds?: number
  apktUrl?: string
  edit?: (raw: Record<string, any>) => void
}

export function benchRawConfig (o: BenchConfigOptions): Record<string, any> {
  const raw = baseRawConfig(o.amiPort)
  const ids = agentIds(o.agents ?? 2)
  raw.agents = ids.map(id => ({ id, interface: memberInterface(id), queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }))
  raw.auth.tokens = [
    { token: TOKENS.pbx, role: 'pbx', name: 'pbx' },
    { token: TOKENS.supervisor, role: 'supervisor', name: 'supervisor' },
    ...ids.map(id => ({ token: agentToken(id), role: 'agent', agent: id, name: `agent-${id}` }))
  ]
  if (o.storePath !== undefined) raw.store.path = o.storePath
  if (o.logLevel !== undefined) raw.log.level = o.logLevel
  if (o.acwSeconds !== undefined) raw.acw.seconds = o.acwSeconds
  if (o.apktUrl !== undefined) raw.apkt.url = o.apktUrl
  // Only when this build has a rate limit (the key would be refused otherwise).
  if ((HttpConfig as unknown as { properties: Record<string, unknown> }).properties.rateLimit !== undefined) {
    raw.http.rateLimit = { max: 1_000_000_000, timeWindowMs: 60_000 }
  }
  o.edit?.(raw)
  return raw
}

export function benchConfig (o: BenchConfigOptions): Config {
  return parseConfig(benchRawConfig(o))
}
