// The report API (CONTRACT.md section 8) through the real app (createService, SQLite in
// a temp dir): the dates' refusals name their field, supervisors only, and the CSV is
// the JSON's rows: one header, flattened columns, formula-safe cells. The figures come
// from report facts committed through the store (test/helpers/report-facts.ts).
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'
import { EXPECTED, FORMULA_AGENT, FORMULA_AGENT_ID, FORMULA_PAUSE, FORMULA_WRAPUP, RANGE, seedReportFacts } from '../helpers/report-facts.ts'

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

/** A JSON row as the CSV's columns: nested objects flattened to `a.b`, null as ''. */
function flatten (row: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(row)) {
    if (v !== null && typeof v === 'object') Object.assign(out, flatten(v as Record<string, unknown>, `${prefix}${k}.`))
    else out[`${prefix}${k}`] = v === null || v === undefined ? '' : String(v)
  }
  return out
}

t.test('facts through the store: added up by Jakarta day and hour; the CSV holds the JSON\'s numbers, its cells made safe', async t => {
  const s = await startAppStack(t)
  const put = await s.request('PUT', `/v1/admin/agents/${FORMULA_AGENT.id}`, { token: TOKENS.admin, body: { name: FORMULA_AGENT.name, queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' } })
  t.equal(put.status, 201, put.text)
  await seedReportFacts(s.svc.store)
  const q = `from=${RANGE.from}&to=${RANGE.to}`

  const day = await s.get(`/v1/reports/summary?${q}&interval=day`, TOKENS.supervisor)
  t.equal(day.status, 200, day.text)
  t.equal(day.body.rows.length, 2, 'one row per Jakarta day, to inclusive')
  t.match(day.body.rows[0], EXPECTED.day1, '1 December: the call at 23:59:59 WIB is in, the one at 23:59:59 WIB the day before is not')
  t.match(day.body.rows[1], EXPECTED.day2, '2 December: the call at 00:00 WIB')
  t.equal(day.body.serviceLevelSeconds, 20)

  const hour = await s.get(`/v1/reports/summary?${q}&interval=hour`, TOKENS.supervisor)
  t.equal(hour.body.rows.length, 48, 'one row per hour')
  t.match(hour.body.rows[23], { interval: '2026-12-01T23:00:00+07:00', offered: 1, abandoned: 1 })
  t.match(hour.body.rows[24], { interval: '2026-12-02T00:00:00+07:00', offered: 1, answered: 1 })
  t.equal(hour.body.rows.reduce((a: number, r: any) => a + r.offered, 0), 6, 'the hours add up to the days')

  const agents = await s.get(`/v1/reports/agents?${q}`, TOKENS.supervisor)
  t.equal(agents.status, 200, agents.text)
  const byId = Object.fromEntries(agents.body.rows.map((r: any) => [r.agentId, r]))
  for (const [id, want] of Object.entries(EXPECTED.agents)) t.match(byId[id], want, `agent ${id}`)
  t.equal(byId[FORMULA_AGENT.id].name, FORMULA_AGENT.name, 'the name from the directory')
  t.notOk('name' in byId['1001'], 'none for an agent without one')

  for (const [name, url, json] of [
    ['summary by day', `/v1/reports/summary?${q}&interval=day`, day.body],
    ['summary by hour', `/v1/reports/summary?${q}&interval=hour`, hour.body],
    ['agents', `/v1/reports/agents?${q}`, agents.body]
  ] as const) {
    const csv = await s.request('GET', url, { token: TOKENS.supervisor, headers: { accept: 'text/csv' } })
    t.equal(csv.status, 200)
    const [header = [], ...lines] = parseCsv(csv.text)
    t.equal(lines.length, json.rows.length, `${name}: a line per JSON row`)
    t.equal(new Set(header).size, header.length, `${name}: no column twice`)
    const keyed = header.filter(h => /^(byTopic|pauseSeconds|wrapups)\./.test(h))
    t.same(header.slice(header.length - keyed.length), keyed, `${name}: the keyed columns last`)
    for (const prefix of ['byTopic', 'pauseSeconds', 'wrapups']) {
      const cols = keyed.filter(h => h.startsWith(`${prefix}.`))
      t.same(cols, [...cols].sort(), `${name}: ${prefix} columns sorted`)
      const union = new Set(json.rows.flatMap((r: any) => Object.keys(r[prefix] ?? {}).map(k => `${prefix}.${k}`)))
      t.same(new Set(cols), union, `${name}: ${prefix} columns are the union of the rows' keys`)
    }
    json.rows.forEach((row: any, i: number) => {
      const flat = flatten(row)
      const line = lines[i] ?? []
      // The apostrophe a formula-like cell gets is the CSV's only change to a value.
      const got = Object.fromEntries(header.map((h, j) => [h, (line[j] ?? '').replace(/^'(?=[=+\-@])/, '')]))
      const want = Object.fromEntries(header.map(h => [h, flat[h] ?? (keyed.includes(h) ? '0' : '')]))
      t.same(got, want, `${name} row ${i}: the JSON's values`)
      t.same(Object.keys(flat).filter(k => !header.includes(k)), [], `${name} row ${i}: every JSON value has its column`)
    })
  }

  const agentsCsv = parseCsv((await s.request('GET', `/v1/reports/agents?${q}&format=csv`, { token: TOKENS.supervisor })).text)
  const head = agentsCsv[0] ?? []
  const cellOf = (id: string, col: string): string | undefined => agentsCsv.find(l => l[0] === id || l[0] === `'${id}`)?.[head.indexOf(col)]
  t.equal(cellOf(FORMULA_AGENT.id, 'name'), `'${FORMULA_AGENT.name}`, 'a name starting with = gets an apostrophe')
  t.equal(agentsCsv.find(l => l[0]?.includes(FORMULA_AGENT_ID))?.[0], `'${FORMULA_AGENT_ID}`, 'an agent id starting with + too')
  t.ok(head.includes(`wrapups.${FORMULA_WRAPUP}`) && head.includes(`pauseSeconds.${FORMULA_PAUSE}`), 'codes starting with - and @ are column names behind their prefix, harmless')
  t.notOk(agentsCsv.flat().some(c => /^[=+\-@]/.test(c)), 'no cell starts with = + - @')
})

t.test('through the service: a call from the queue (CTI events) counts today; reports.serviceLevelSeconds applies to the history', async t => {
  const s = await startAppStack(t, { edit: raw => { raw.reports = { serviceLevelSeconds: 40 } } })
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Jakarta' }).format(new Date())
  const before = await s.get(`/v1/reports/summary?from=${today}&to=${today}`, TOKENS.supervisor)
  t.match(before.body.rows[0], { offered: 0, answered: 0 }, 'nothing today yet')
  const offered = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'rep-e2e-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-rep-e2e-1', queue: 'pln123' } })
  const answered = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'rep-e2e-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-rep-e2e-1;1' } })
  const ended = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'rep-e2e-1' })
  t.same([offered.status, answered.status, ended.status], [202, 202, 202], ended.text)
  // The facts commit with the call's change; the report reads what is durable.
  let row: any
  for (let i = 0; i < 50; i++) {
    row = (await s.get(`/v1/reports/summary?from=${today}&to=${today}`, TOKENS.supervisor)).body.rows[0]
    if (row.answered === 1) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.match(row, { offered: 1, answered: 1, abandoned: 0, serviceLevel: 1 }, 'offered and answered today, within 40 s')
  const agent = (await s.get(`/v1/reports/agents?from=${today}&to=${today}`, TOKENS.supervisor)).body.rows.find((r: any) => r.agentId === '1001')
  t.match(agent, { agentId: '1001', calls: 1 }, 'agent 1001 took it')
  const csv = parseCsv((await s.request('GET', `/v1/reports/summary?from=${today}&to=${today}&format=csv`, { token: TOKENS.supervisor })).text)
  t.equal(csv[1]?.[csv[0]?.indexOf('answered') ?? -1], '1', 'and the CSV says so')

  await seedReportFacts(s.svc.store)
  const day = await s.get(`/v1/reports/summary?from=${RANGE.from}&to=${RANGE.to}`, TOKENS.supervisor)
  t.equal(day.body.serviceLevelSeconds, 40, 'the configured threshold')
  t.equal(day.body.rows[0].serviceLevel, 0.6, '1 December within 40 s: 3 of 5 (waits of 10, 30 and 5 s; 45 s and 50 s abandoned)')
})
