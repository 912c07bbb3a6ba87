// The pages and their assets are public and served from src/ui with a strict CSP;
// nothing else becomes public by their being there.
import t from 'tap'
import pino from 'pino'
import { createService } from '../../src/service.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'

t.test('UI routes', async t => {
  // Not started: inject() needs no listening socket and the pages need no AMI.
  const svc = await createService(testConfig(), pino({ level: 'silent' }))
  t.teardown(async () => { await svc.stop() })
  const get = async (url: string, headers: Record<string, string> = {}) => await svc.app.inject({ url, headers })

  for (const [url, marker] of [['/', 'dashboard.js'], ['/agent', 'agent.js'], ['/admin', 'admin.js'], ['/reports', 'reports.js']] as const) {
    const r = await get(url)
    t.equal(r.statusCode, 200, `${url} without a token`)
    t.match(r.headers['content-type'], /^text\/html; charset=utf-8/)
    t.match(r.body, marker)
    t.match(r.headers['content-security-policy'], /default-src 'none'.*script-src 'self'.*connect-src 'self'/)
    t.equal(r.headers['x-content-type-options'], 'nosniff')
    t.notMatch(r.body, /https?:\/\//, `${url} loads nothing from elsewhere`)
  }

  for (const [file, type] of [['app.css', /^text\/css/], ['agent.js', /javascript/], ['dashboard.js', /javascript/], ['admin.js', /javascript/], ['reports.js', /javascript/], ['api.js', /javascript/], ['sse.js', /javascript/], ['i18n.js', /javascript/]] as const) {
    const r = await get(`/ui/${file}`)
    t.equal(r.statusCode, 200, `/ui/${file}`)
    t.match(r.headers['content-type'], type)
    t.notMatch(r.body, /https?:\/\/(?!127\.0\.0\.1)/, `${file} fetches nothing from elsewhere`)
  }

  // The admin page's links: each page reaches the other, on this origin.
  t.match((await get('/')).body, 'href="/admin"', 'the dashboard links to the admin page')
  t.match((await get('/admin')).body, 'href="/"', 'and back')
  t.equal((await get('/v1/admin/agents')).statusCode, 401, 'the admin page is public, the admin API is not')
  t.match((await get('/')).body, 'href="/reports"', 'the dashboard links to the reports page')
  t.match((await get('/reports')).body, 'href="/"', 'and back')
  t.equal((await get('/v1/reports/summary?from=2026-12-01&to=2026-12-01')).statusCode, 401, 'the reports page is public, the report API is not')

  // The charts' library, from node_modules through the service (no CDN): the page works offline.
  const chartJs = await get('/ui/vendor/chart.umd.min.js')
  t.equal(chartJs.statusCode, 200, 'chart.js is served by the service')
  t.match(chartJs.headers['content-type'], /javascript/)
  t.match(chartJs.body, /Chart\.js v4/, 'the chart.js browser build')
  t.ok(chartJs.body.length > 100_000, 'whole')
  t.match(chartJs.headers['content-security-policy'], /default-src 'none'/, 'with the pages\' CSP')
  t.match((await get('/reports')).body, '<script src="/ui/vendor/chart.umd.min.js"></script>', 'the reports page loads it from the service')

  t.equal((await get('/ui/nope.js')).statusCode, 404)
  t.not((await get('/ui/')).statusCode, 200, 'no directory listing')
  t.not((await get('/ui/..%2fhttp%2fauth.ts')).statusCode, 200, 'no way out of src/ui')
  t.not((await get('/ui/../http/auth.ts')).statusCode, 200)

  const api = await get('/v1/agents')
  t.equal(api.statusCode, 401, 'the API still needs a token')
  t.notOk([401, 403].includes((await get('/v1/apkt/records', { authorization: `Bearer ${TOKENS.supervisor}` })).statusCode), 'and takes it as before')
  t.equal((await get('/nope')).statusCode, 401, 'an unknown route is not public either')
})
