// One access-log line per request, written when the response is done, in place of
// Fastify's two ("incoming request" + "request completed"). Each line is a JSON
// serialisation and a write; at the service's default level (info) the pair was the
// largest single cost of a cheap route such as the dialplan hook (88 us of CPU per
// request against 50 us with request logs off). The one line keeps what an engineer
// reads an access log for: method, URL, status, time, and who asked (the token's
// name, never the token). Fastify's LogController is its hook for exactly this.
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

export class AccessLog extends LogController {
  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    // Flat fields: a nested object would cost a pass of the redactor ('req' has paths).
    const line = {
      method: req.method,
      url: req.url,
      remoteAddress: req.ip,
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      ...(req.principal !== undefined ? { who: req.principal.name } : {})
    }
    if (error != null) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}
