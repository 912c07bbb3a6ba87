// A report's dates (CONTRACT.md section 8): Jakarta days, `to` inclusive, at most 366
// days; every refusal names its field. And the CSV's cells a spreadsheet would run.
import t from 'tap'
import { jakartaDay, jakartaDayStart, parseInterval, parseRange } from '../../src/reports/range.ts'
import { agentsCsv, safeCell, summaryCsv } from '../../src/reports/csv.ts'
import type { SummaryRow } from '../../src/reports/types.ts'

t.test('a range: from 00:00 Jakarta (17:00 UTC the day before) to the day after to, exclusive', async t => {
  const r = parseRange({ from: '2026-12-01', to: '2026-12-07' })
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.value.from.toISOString(), '2026-11-30T17:00:00.000Z')
  t.equal(r.value.to.toISOString(), '2026-12-07T17:00:00.000Z', 'to inclusive: its whole day is in')
  const one = parseRange({ from: '2026-12-01', to: '2026-12-01' })
  t.ok(one.ok && one.value.to.getTime() - one.value.from.getTime() === 86_400_000, 'one day: 24 hours')
  const newYear = parseRange({ from: '2027-01-01', to: '2027-01-01' })
  t.ok(newYear.ok && newYear.value.from.toISOString() === '2026-12-31T17:00:00.000Z', 'a year boundary in Jakarta is still in the old year in UTC')
})

t.test('the Jakarta boundary: 16:59:59 UTC is the day before, 17:00 UTC the next day', async t => {
  t.equal(jakartaDay(new Date('2026-12-01T16:59:59.999Z')), '2026-12-01')
  t.equal(jakartaDay(new Date('2026-12-01T17:00:00.000Z')), '2026-12-02')
  const start = jakartaDayStart('2026-12-02')
  t.equal(start?.toISOString(), '2026-12-01T17:00:00.000Z')
  const r = parseRange({ from: '2026-12-02', to: '2026-12-02' })
  if (!r.ok) { t.fail('refused'); return }
  const inside = (iso: string): boolean => { const at = new Date(iso); return at >= r.value.from && at < r.value.to }
  t.notOk(inside('2026-12-01T16:59:59.999Z'), '23:59:59 Jakarta on the 1st is out')
  t.ok(inside('2026-12-01T17:00:00.000Z'), '00:00 Jakarta on the 2nd is in')
  t.ok(inside('2026-12-02T16:59:59.999Z'), '23:59:59 Jakarta on the 2nd is in')
  t.notOk(inside('2026-12-02T17:00:00.000Z'), '00:00 Jakarta on the 3rd is out')
})

t.test('366 days pass, 367 are refused naming to', async t => {
  t.ok(parseRange({ from: '2024-01-01', to: '2024-12-31' }).ok, 'a leap year: 366 days')
  t.ok(parseRange({ from: '2025-01-01', to: '2026-01-01' }).ok, '366 days over a plain year')
  const r = parseRange({ from: '2024-01-01', to: '2025-01-01' })
  t.match(r, { ok: false, field: 'querystring.to', message: /367 days, at most 366/ })
  t.match(parseRange({ from: '2025-01-01', to: '2026-01-02' }), { ok: false, field: 'querystring.to' })
})

t.test('every refusal names its field', async t => {
  const cases: Array<[string, { from?: string, to?: string }, string, RegExp]> = [
    ['from missing', { to: '2026-12-01' }, 'querystring.from', /required/],
    ['to missing', { from: '2026-12-01' }, 'querystring.to', /required/],
    ['from empty', { from: '', to: '2026-12-01' }, 'querystring.from', /required/],
    ['both missing: from first', {}, 'querystring.from', /required/],
    ['from not a date', { from: 'yesterday', to: '2026-12-01' }, 'querystring.from', /not a date/],
    ['to in another format', { from: '2026-12-01', to: '01/12/2026' }, 'querystring.to', /not a date/],
    ['a time appended', { from: '2026-12-01T00:00', to: '2026-12-01' }, 'querystring.from', /not a date/],
    ['one-digit month', { from: '2026-1-01', to: '2026-12-01' }, 'querystring.from', /not a date/],
    ['an impossible day', { from: '2026-02-30', to: '2026-03-01' }, 'querystring.from', /not a date/],
    ['29 February of a plain year', { from: '2026-02-01', to: '2026-02-29' }, 'querystring.to', /not a date/],
    ['month 13', { from: '2026-13-01', to: '2026-12-01' }, 'querystring.from', /not a date/],
    ['day 00', { from: '2026-12-00', to: '2026-12-01' }, 'querystring.from', /not a date/],
    ['from after to', { from: '2026-12-02', to: '2026-12-01' }, 'querystring.from', /after to/]
  ]
  for (const [name, q, field, message] of cases) {
    const r = parseRange(q)
    t.match(r, { ok: false, field, message }, name)
    if (!r.ok) t.ok(r.message.startsWith(`${field}:`), `${name}: the message starts with the field`)
  }
  t.ok(parseRange({ from: '2024-02-29', to: '2024-02-29' }).ok, '29 February of a leap year is a date')
  t.match(parseRange({ from: 'x' }, 'q'), { ok: false, field: 'q.from' }, 'the prefix is the caller\'s')
})

t.test('interval: hour or day, day when absent', async t => {
  t.same(parseInterval('hour'), { ok: true, value: 'hour' })
  t.same(parseInterval('day'), { ok: true, value: 'day' })
  t.same(parseInterval(undefined), { ok: true, value: 'day' })
  for (const bad of ['week', 'HOUR', '', 'hour ']) t.match(parseInterval(bad), { ok: false, field: 'querystring.interval', message: /not one of hour, day/ }, JSON.stringify(bad))
})

t.test('CSV: a cell a spreadsheet would run as a formula starts with an apostrophe', async t => {
  for (const bad of ['=HYPERLINK("x")', '+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) t.equal(safeCell(bad), `'${bad}`, JSON.stringify(bad))
  for (const ok of ['1001', 'Sari', 'a=b', '']) t.equal(safeCell(ok), ok)
  t.equal(safeCell(-1), -1, 'numbers stay numbers')
  t.equal(safeCell(null), '', 'null is an empty cell')
})

t.test('CSV: flat fields first, then the union of keys over the rows, sorted, 0 where a row has none', async t => {
  const row = (interval: string, more: Partial<SummaryRow>): SummaryRow => ({
    interval, offered: 0, answered: 0, abandoned: 0, serviceLevel: null, avgWaitSeconds: null, byTopic: {},
    transfers: { completed: 0, failed: 0, answeredAtTarget: 0, abandonedAtTarget: 0 }, acwSeconds: 0, pauseSeconds: {}, wrapups: {},
    apkt: { delivered: 0, dead: 0, pending: 0 }, ...more
  })
  const csv = summaryCsv([
    row('2026-12-01T00:00:00+07:00', { offered: 3, answered: 2, serviceLevel: 0.5, byTopic: { billing: 2 }, wrapups: { '=cmd': 1 } }),
    row('2026-12-02T00:00:00+07:00', { offered: 1, byTopic: { activation: 1 }, pauseSeconds: { istirahat: 60 } })
  ])
  const lines = csv.trimEnd().split('\r\n')
  t.equal(lines.length, 3, 'a header and one line per row')
  t.equal(lines[0], 'interval,offered,answered,abandoned,serviceLevel,avgWaitSeconds,acwSeconds,transfers.completed,transfers.failed,transfers.answeredAtTarget,transfers.abandonedAtTarget,apkt.delivered,apkt.dead,apkt.pending,byTopic.activation,byTopic.billing,pauseSeconds.istirahat,wrapups.=cmd')
  t.equal(lines[1], '2026-12-01T00:00:00+07:00,3,2,0,0.5,,0,0,0,0,0,0,0,0,0,2,0,1')
  t.equal(lines[2], '2026-12-02T00:00:00+07:00,1,0,0,,,0,0,0,0,0,0,0,0,1,0,60,0')
  const agents = agentsCsv([{ agentId: '-1001', name: '@Sari', calls: 2, talkSeconds: 300, acwSeconds: 60, pauseSeconds: {}, transfers: 1, wrapups: {} }])
  t.equal(agents.split('\r\n')[1], "'-1001,'@Sari,2,300,60,1", 'an agent id and a name from people are made safe')
})
