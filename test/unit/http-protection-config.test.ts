// The HTTP protection settings: defaults high enough for the PBX and softphones, every
// key overridable from the environment like the rest of the config.
import t from 'tap'
import { ConfigError, parseConfig } from '../../src/config/load.ts'
import { baseRawConfig } from '../helpers/config.ts'

t.test('defaults: 6000 requests a minute per token, shedding past 1 s of event-loop delay, memory checks off', async t => {
  const c = parseConfig(baseRawConfig())
  t.same(c.http.rateLimit, { max: 6000, timeWindowMs: 60000 })
  t.same(c.http.underPressure, { maxEventLoopDelayMs: 1000, maxHeapUsedBytes: 0, maxRssBytes: 0 })
})

function problems (fn: () => unknown): string[] {
  try { fn() } catch (e) { if (e instanceof ConfigError) return e.problems; throw e }
  return []
}

t.test('environment overrides, and bad values named', async t => {
  const c = parseConfig(baseRawConfig(), { CTI_HTTP_RATE_LIMIT_MAX: '120', CTI_HTTP_RATE_LIMIT_TIME_WINDOW_MS: '1000', CTI_HTTP_UNDER_PRESSURE_MAX_HEAP_USED_BYTES: '1073741824' })
  t.same(c.http.rateLimit, { max: 120, timeWindowMs: 1000 })
  t.equal(c.http.underPressure.maxHeapUsedBytes, 1073741824)
  t.ok(problems(() => parseConfig(baseRawConfig(), { CTI_HTTP_RATE_LIMIT_MAX: '0' })).some(p => p.startsWith('http.rateLimit.max')), 'max 0 is refused')
  const raw = baseRawConfig()
  raw.http.rateLimit = { max: 10, window: 5 }
  t.ok(problems(() => parseConfig(raw)).some(p => p.startsWith('http.rateLimit.window')), 'an unknown key is named')
})
