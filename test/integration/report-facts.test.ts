// The whole service (real wiring, SQLite) against a fake Asterisk: the report facts of
// calls driven by AMI events as Asterisk 22's app_queue sends them reach the store's
// reports, and the 15-minute gauges are served.
import t from 'tap'
import { asteriskWorks, startAppStack } from '../helpers/app-stack.ts'
import { waitFor } from '../helpers/ami.ts'
import { TOKENS } from '../helpers/config.ts'

const event = (name: string, fields: Record<string, string | number>): string =>
  `Event: ${name}\r\n${Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
const caller = (id: string): Record<string, string> => ({ Channel: `PJSIP/trunk-${id}`, Uniqueid: id, Linkedid: id, CallerIDNum: '0811', Queue: 'pln123' })
const JAKARTA = 7 * 3_600_000
const DAY = 86_400_000

t.test('a call answered and one abandoned: offered, answered, abandoned, the agent\'s call and talk, the gauges', async t => {
  const { svc, fake, get } = await startAppStack(t, { handler: asteriskWorks })
  fake.send(event('QueueCallerJoin', { ...caller('r1'), Position: 1, Count: 1 }))
  fake.send(event('QueueCallerJoin', { ...caller('r2'), Position: 2, Count: 2 }))
  fake.send(event('AgentConnect', { ...caller('r1'), DestChannel: 'Local/1001@agents-r1;1', Interface: 'Local/1001@agents/n', MemberName: 'Agent 1001', HoldTime: 4, RingTime: 1 }))
  fake.send(event('QueueCallerAbandon', { ...caller('r2'), Position: 1, OriginalPosition: 2, HoldTime: 30 }))
  fake.send(event('Hangup', { ...caller('r1'), Cause: 16 }))
  await waitFor('the call over', () => svc.tracker.get('r1')?.state === 'ended')

  // Today and yesterday in Jakarta: whatever the hour the test runs at.
  const today = Math.floor((Date.now() + JAKARTA) / DAY) * DAY - JAKARTA
  const range = { from: new Date(today - DAY), to: new Date(today + DAY) }
  // The facts ride on commits of the journal: read until they are there (or time out).
  let rows = await svc.store.reports.summary({ ...range, interval: 'day', serviceLevelSeconds: 20 })
  for (let i = 0; i < 200 && rows.reduce((n, r) => n + r.offered + r.answered + r.abandoned, 0) < 4; i++) {
    await new Promise(resolve => setTimeout(resolve, 50))
    rows = await svc.store.reports.summary({ ...range, interval: 'day', serviceLevelSeconds: 20 })
  }
  const sum = (k: 'offered' | 'answered' | 'abandoned'): number => rows.reduce((n, r) => n + r[k], 0)
  t.strictSame([sum('offered'), sum('answered'), sum('abandoned')], [2, 1, 1])
  const day = rows.find(r => r.offered > 0)
  t.equal(day?.serviceLevel, 0.5, 'one of two answered within 20 s')
  t.equal(day?.avgWaitSeconds, 4, 'AgentConnect\'s HoldTime')
  t.match(await svc.store.reports.agents(range), [{ agentId: '1001', calls: 1 }])

  const metrics = await get('/metrics', TOKENS.supervisor)
  t.match(metrics.text, /pln123_service_level_15m 0\.5\n/)
  t.match(metrics.text, /pln123_abandon_rate_15m 0\.5\n/)
})
