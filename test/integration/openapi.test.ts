// The operator's reference: every route of the real route table is in the OpenAPI
// document served at /docs/json, with its method, parameters, body and who may call it.
import t from 'tap'
import { startAppStack } from '../helpers/app-stack.ts'

const toOpenApi = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')

t.test('/docs and /docs/json are public; every route is documented with its method, params, body and roles', async t => {
  const s = await startAppStack(t)
  const ui = await s.get('/docs')
  t.equal(ui.status, 200, 'Swagger UI without a token')
  t.match(String(ui.headers['content-type']), /text\/html/)
  const res = await s.get('/docs/json')
  t.equal(res.status, 200, 'the document without a token')
  const doc = res.body as { openapi: string, paths: Record<string, Record<string, any>>, components: any }
  t.match(doc.openapi, /^3\./, 'OpenAPI 3')
  t.same(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearer.description })

  const routes = s.svc.app.routeTable.filter(r => !r.hidden && r.method !== 'HEAD')
  t.ok(routes.length >= 18, `${routes.length} routes to document`)
  let documented = 0
  for (const r of routes) {
    const name = `${r.method} ${r.url}`
    const op = doc.paths[toOpenApi(r.url)]?.[r.method.toLowerCase()]
    if (!t.ok(op, `${name} is documented`)) continue
    documented++
    if (r.auth === 'public') {
      t.same(op.security, [], `${name}: no token needed`)
      continue
    }
    if (r.auth === undefined) continue
    t.same(op.security, [{ bearer: [] }], `${name}: needs a bearer token`)
    t.match(op.description, new RegExp(`Roles: ${r.auth.roles.join(', ')}\\.`), `${name}: says which roles`)
    t.ok(typeof op.summary === 'string' && op.summary.length > 0, `${name}: has a summary`)
    for (const p of r.url.match(/:([A-Za-z0-9_]+)/g) ?? []) {
      t.ok((op.parameters ?? []).some((x: { in: string, name: string }) => x.in === 'path' && x.name === p.slice(1)), `${name}: path parameter ${p} documented`)
    }
    const body = (r.schema as { body?: unknown } | undefined)?.body
    if (r.method === 'POST' && body !== undefined) t.ok(op.requestBody?.content?.['application/json']?.schema, `${name}: request body documented`)
  }
  const operations = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0)
  t.equal(operations, documented, 'and nothing in the document that the app does not serve')
  t.ok(doc.paths['/v1/calls/{callId}/direct-transfer']?.post?.responses?.['409'], 'error responses are documented (409 for the transfer)')
  t.ok(doc.paths['/v1/status']?.get?.responses?.['200'], 'GET /v1/status is documented with its answer')
  t.ok(doc.paths['/v1/events']?.get?.responses?.['429'], 'GET /v1/events documents 429 TOO_MANY_STREAMS')
  t.notOk(JSON.stringify(doc.paths['/readyz']?.get?.responses?.['200'] ?? {}).includes('detail'), '/readyz documents no detail field')
  for (const step of ['login', 'logout', 'pause', 'ready']) {
    const op = doc.paths[`/v1/agents/{agentId}/${step}`]?.post
    t.match(op?.description, /Roles: agent, supervisor\./, `POST /v1/agents/:agentId/${step}: for the agent itself and supervisors`)
    t.ok(op?.responses?.['409'], `POST /v1/agents/:agentId/${step} documents 409`)
  }
  t.ok(doc.paths['/v1/agents/{agentId}/logout']?.post?.responses?.['202'], 'logout documents 202 { pending: "logout" }')
  t.ok(doc.paths['/v1/agents/{agentId}/pause']?.post?.responses?.['202'], 'pause documents 202 { next }')
  const agentProps = Object.keys(doc.paths['/v1/agents/{agentId}']?.get?.responses?.['200']?.content?.['application/json']?.schema?.properties ?? {})
  for (const f of ['paused', 'pauseReason', 'pausedSince', 'pauseOverMax', 'loggedOut', 'next']) t.ok(agentProps.includes(f), `the agent view documents ${f}`)
  const landing = doc.paths['/v1/calls/{callId}']?.get?.responses?.['200']?.content?.['application/json']?.schema?.properties?.transfer?.properties?.landing
  const statuses = (landing?.properties?.status?.anyOf ?? []).flatMap((x: { const?: string, enum?: string[] }) => x.enum ?? (x.const !== undefined ? [x.const] : []))
  t.same(statuses, ['waiting', 'answered', 'abandoned', 'failed'], 'GET /v1/calls/:id documents transfer.landing and its statuses')
  t.same(Object.keys(landing?.properties ?? {}).sort(), ['at', 'cause', 'status', 'waitSeconds'], 'with when, how long and why')
  const wrapup = doc.paths['/v1/calls/{callId}/wrapup']?.post
  t.same(Object.keys(wrapup?.requestBody?.content?.['application/json']?.schema?.properties ?? {}).sort(), ['code', 'note'], 'POST /v1/calls/:id/wrapup documents { code, note? }')
  t.ok(wrapup?.responses?.['409'] && wrapup?.responses?.['400'] && wrapup?.responses?.['503'], 'with its 400, 409 and 503')
  const viewWrapup = doc.paths['/v1/calls/{callId}']?.get?.responses?.['200']?.content?.['application/json']?.schema?.properties?.wrapup
  t.same(Object.keys(viewWrapup?.properties ?? {}).sort(), ['at', 'by', 'code', 'final', 'label', 'note', 'source'], 'the call view documents its wrap-up')
  const reason = doc.paths['/v1/pause-reasons']?.get?.responses?.['200']?.content?.['application/json']?.schema?.properties?.reasons?.items
  t.same(Object.keys(reason?.properties ?? {}).sort(), ['code', 'label', 'maxMinutes'], 'GET /v1/pause-reasons documents each reason\'s code, label and maxMinutes')
})
