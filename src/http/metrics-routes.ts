// GET /metrics: Prometheus text for supervisors (and the scraper holding a supervisor
// token): calls, transfers, agents, ACW, the APKT outbox, AMI and the event loop.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody, NoQuery } from './schemas.ts'

export interface MetricsRouteDeps {
  metrics: { contentType: string, text: () => Promise<string> }
}

export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRouteDeps> = async (app, deps) => {
  app.get('/metrics', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'Prometheus metrics (text exposition format)',
      tags: ['supervisor'],
      querystring: NoQuery,
      response: { 200: Type.String({ description: 'text/plain; version=0.0.4' }), 401: ErrorBody, 403: ErrorBody }
    }
  }, async (_req, reply) => {
    const body = await deps.metrics.text()
    return reply.type(deps.metrics.contentType).send(body)
  })
}
