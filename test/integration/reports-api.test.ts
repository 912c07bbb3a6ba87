// The report API (CONTRACT.md section 8) through the real app (createService, SQLite in
// a temp dir): the dates' refusals name their field, supervisors only, and the CSV is
// the JSON's rows: one header, flattened columns, formula-safe cells.
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'

/** RFC 4180 as csv-stringify writes it: quoted cells may hold commas, quotes (doubled) and line breaks. */
export function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') { row.push(cell); cell = '' } else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ } else cell += c
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row) }
  return rows
}

t.test('dates, interval and fields: 400 naming the field', async t => {
  const s = await startAppStack(t)
  const cases: Array<[string, string, string]> = [
    ['/v1/reports/summary?to=2026-12-01', 'querystring.from', 'from missing'],
    ['/v1/reports/summary?from=2026-12-01', 'querystring.to', 'to missing'],
    ['/v1/reports/summary', 'querystring.from', 'both missing'],
    ['/v1/reports/summary?from=2026-12-1&to=2026-12-02', 'querystring.from', 'not YYYY-MM-DD'],
    ['/v1/reports/summary?from=2026-02-30&to=2026-03-02', 'querystring.from', 'an impossible date'],
    ['/v1/reports/summary?from=2026-12-01&to=tomorrow', 'querystring.to', 'to not a date'],
    ['/v1/reports/summary?from=2026-12-02&to=2026-12-01', 'querystring.from', 'from after to'],
    ['/v1/reports/summary?from=2024-01-01&to=2025-01-01', 'querystring.to', '367 days'],
    ['/v1/reports/summary?from=2026-12-01&to=2026-12-01&interval=week', 'querystring.interval', 'a bad interval'],
    ['/v1/reports/summary?from=2026-12-01&to=2026-12-01&format=xlsx', 'querystring.format', 'a bad format'],
    ['/v1/reports/summary?from=2026-12-01&to=2026-12-01&agent=1001', 'querystring.agent', 'an unknown field'],
    ['/v1/reports/summary?from=2026-12-01&from=2026-12-02&to=2026-12-03', 'querystring.from', 'from twice'],
    ['/v1/reports/agents?from=2026-13-01&to=2026-12-01', 'querystring.from', 'agents: month 13'],
    ['/v1/reports/agents?from=2026-12-01&to=2026-11-30', 'querystring.from', 'agents: from after to'],
    ['/v1/reports/agents?from=2026-12-01&to=2026-12-01&interval=hour', 'querystring.interval', 'agents: no interval']
  ]
  for (const [url, field, name] of cases) {
    const r = await s.get(url, TOKENS.supervisor)
    t.equal(r.status, 400, `${name}: 400`)
    t.equal(r.body?.error, 'BAD_REQUEST', name)
    t.equal(r.body?.field, field, `${name}: names ${field}`)
    t.ok(typeof r.body?.message === 'string' && r.body.message.startsWith(field), `${name}: the message starts with the field (${String(r.body?.message)})`)
    const csv = await s.request('GET', url, { token: TOKENS.supervisor, headers: { accept: 'text/csv' } })
    t.equal(csv.status, 400, `${name}: a CSV request is refused the same way`)
    t.match(csv.headers['content-type'], /application\/json/, `${name}: the refusal is JSON`)
  }
  t.equal((await s.get('/v1/reports/summary?from=2024-01-01&to=2024-12-31', TOKENS.supervisor)).status, 200, '366 days pass')
  t.equal((await s.get('/v1/reports/agents?from=2024-01-01&to=2024-12-31', TOKENS.supervisor)).status, 200)
})

t.test('supervisors only: 401 without or with a bad token, 403 for the other roles', async t => {
  const s = await startAppStack(t)
  for (const url of ['/v1/reports/summary?from=2026-12-01&to=2026-12-01', '/v1/reports/agents?from=2026-12-01&to=2026-12-01']) {
    t.equal((await s.get(url)).status, 401, `${url}: no token`)
    t.equal((await s.get(url, 'not-a-token')).status, 401, `${url}: a bad token`)
    for (const [role, token] of [['agent', TOKENS.agent1001], ['pbx', TOKENS.pbx], ['admin', TOKENS.admin]] as const) {
      const r = await s.get(url, token)
      t.equal(r.status, 403, `${url}: ${role} -> 403`)
      t.equal(r.body.error, 'FORBIDDEN')
      const csv = await s.request('GET', `${url}&format=csv`, { token })
      t.equal(csv.status, 403, `${url}: ${role} gets no CSV either`)
      t.notMatch(csv.text, /interval|agentId/, 'and no rows')
    }
    t.equal((await s.get(url, TOKENS.supervisor)).status, 200, `${url}: supervisor`)
  }
})

t.test('JSON or CSV: by ?format, else by Accept', async t => {
  const s = await startAppStack(t)
  const url = '/v1/reports/summary?from=2026-12-01&to=2026-12-02&interval=day'
  const json = await s.get(url, TOKENS.supervisor)
  t.equal(json.status, 200)
  t.match(json.headers['content-type'], /application\/json/)
  t.match(json.body, { from: '2026-12-01', to: '2026-12-02', interval: 'day', serviceLevelSeconds: Number, rows: Array })
  for (const [how, opts, path] of [
    ['Accept: text/csv', { headers: { accept: 'text/csv' } }, url],
    ['Accept listing text/csv among others', { headers: { accept: 'application/xml, text/csv;q=0.9' } }, url],
    ['format=csv', {}, `${url}&format=csv`]
  ] as const) {
    const r = await s.request('GET', path, { token: TOKENS.supervisor, ...opts })
    t.equal(r.status, 200, how)
    t.match(r.headers['content-type'], /^text\/csv; charset=utf-8/, `${how}: text/csv`)
    t.equal(r.headers['content-disposition'], 'attachment; filename="laporan-summary-2026-12-01-2026-12-02.csv"', `${how}: a download named for the range`)
    const rows = parseCsv(r.text)
    t.same(rows[0]?.slice(0, 6), ['interval', 'offered', 'answered', 'abandoned', 'serviceLevel', 'avgWaitSeconds'], `${how}: the contract's flat fields first`)
    t.equal(rows.length, 1 + (json.body.rows as unknown[]).length, `${how}: one header, then a line per JSON row`)
  }
  const forced = await s.request('GET', `${url}&format=json`, { token: TOKENS.supervisor, headers: { accept: 'text/csv' } })
  t.match(forced.headers['content-type'], /application\/json/, 'format=json wins over Accept')
  const agents = await s.request('GET', '/v1/reports/agents?from=2026-12-01&to=2026-12-02&format=csv', { token: TOKENS.supervisor })
  t.equal(agents.headers['content-disposition'], 'attachment; filename="laporan-agents-2026-12-01-2026-12-02.csv"')
  t.same(parseCsv(agents.text)[0]?.slice(0, 6), ['agentId', 'name', 'calls', 'talkSeconds', 'acwSeconds', 'transfers'])
})
