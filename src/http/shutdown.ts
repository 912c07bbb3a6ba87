// Graceful shutdown and keep-alive. On close() Fastify stops accepting, lets requests in
// flight finish (a transfer waiting for Asterisk's confirmation) and then waits for every
// socket to close. A keep-alive socket whose request finished during the shutdown stays
// open until the client or the keep-alive timeout drops it (72 s in Fastify), so close()
// hung and the process was killed by the forced-shutdown timer, exit 1, with whatever was
// still to do (AMI logoff, the store close) left undone. Found by
// test/faults/sigterm-inflight.test.ts. Answers sent while closing say Connection: close,
// and Node closes their sockets once they are written.
import type { FastifyInstance } from 'fastify'

export function closeConnectionsWhenClosing (app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  app.addHook('onSend', async (_req, reply) => {
    if (closing) void reply.header('connection', 'close')
  })
}
