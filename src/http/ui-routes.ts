// The agent panel (/agent), the supervisor dashboard (/), the admin page (/admin,
// the "Agen" page: agents and their tokens) and the reports page (/reports, "Laporan",
// its charts drawn by chart.js from node_modules): static pages from
// src/ui, plain HTML, CSS and ES modules with no build step and nothing fetched from
// elsewhere, so they work on a contact-center LAN without internet. The pages are
// public; every API call they make carries the bearer token the user types in.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { markRoutesPublic } from './auth.ts'

const UI_ROOT = fileURLToPath(new URL('../ui/', import.meta.url))
// chart.js's browser build, served by the service itself: no CDN, the charts work offline.
// Its package exports no path to the UMD file; it sits beside the main entry in dist/.
const CHART_JS = path.join(path.dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js')

// Only our own scripts and styles, and fetch() only to this origin: an injected
// string in a caller id or a customer name can neither run nor phone home.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')

export const uiRoutes: FastifyPluginAsync = async (app) => {
  // This plugin's routes are the pages and their assets only.
  markRoutesPublic(app)
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('content-security-policy', CSP)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
    return payload
  })

  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: '/ui/',
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    // Pages and modules change together on deploy; revalidate rather than mix versions.
    cacheControl: true,
    maxAge: 0
  })

  const page = (file: string) => async (_req: unknown, reply: FastifyReply) => {
    const html = await readFile(path.join(UI_ROOT, file))
    return await reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html)
  }
  app.get('/', page('dashboard.html'))
  app.get('/agent', page('agent.html'))
  app.get('/admin', page('admin.html'))
  app.get('/reports', page('reports.html'))

  let chartJs: Buffer | undefined
  app.get('/ui/vendor/chart.umd.min.js', async (_req, reply) => {
    chartJs ??= await readFile(CHART_JS)
    return await reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(chartJs)
  })
}
