// The demos' local APKT receiver: what PLN's complaint system would get (token checked,
// every record kept for the demo to show).
import Fastify from 'fastify'
import { freePort } from './sandbox.ts'

export const DEMO_APKT_TOKEN = 'demo-apkt-token'

export async function startDemoReceiver (): Promise<{ received: Array<Record<string, unknown>>, url: string, close: () => Promise<void> }> {
  const received: Array<Record<string, unknown>> = []
  const app = Fastify()
  app.post('/apkt/records', async (req, reply) => {
    if (req.headers.authorization !== `Bearer ${DEMO_APKT_TOKEN}`) return await reply.code(401).send({ error: 'bad token' })
    received.push(req.body as Record<string, unknown>)
    return await reply.code(201).send({ ok: true })
  })
  const port = await freePort()
  await app.listen({ host: '127.0.0.1', port })
  return { received, url: `http://127.0.0.1:${port}/apkt/records`, close: async () => { await app.close() } }
}
