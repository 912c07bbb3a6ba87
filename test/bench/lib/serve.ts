// An HTTP target for load tests, in its own process so the load generator does not
// share its core. Prints "LISTENING <url>" on stderr; its stdout (the service's log)
// goes wherever the parent sends it (/dev/null in the benchmarks).
//   tsx test/bench/lib/serve.ts hello                 bare Fastify hello-world
//   tsx test/bench/lib/serve.ts apkt                  an APKT receiver: POST /apkt/records
//                                                     answers 201, GET /count says how many
//                                                     (?reset=1: and starts counting again)
//   tsx test/bench/lib/serve.ts app [logLevel] [agents]  the real service (createService),
//                                                     logged in to a fake AMI, with N agents
//                                                     (and N agent tokens; default 200)
import Fastify from 'fastify'
import pino from 'pino'
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync } from 'node:fs'
import { createService } from '../../../src/service.ts'
import { redactPaths } from '../../../src/log.ts'
import { FakeAmi } from '../../helpers/fake-ami.ts'
import { benchConfig } from './config.ts'

const [mode = 'hello', level = 'info', agents = '200'] = process.argv.slice(2)
// A normal exit on SIGTERM, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0))

if (mode === 'apkt') {
  const app = Fastify({ logger: false })
  const ids = new Set<string>()
  let posts = 0
  app.post('/apkt/records', async (req, reply) => {
    posts++
    ids.add(String(req.headers['idempotency-key']))
    return await reply.code(201).send({ ok: true })
  })
  // ?reset=1 starts a new count: the set of ids seen would otherwise grow with every run
  // of a benchmark (hundreds of thousands), and the receiver slow down as it did.
  app.get<{ Querystring: { reset?: string } }>('/count', async req => {
    const out = { posts, unique: ids.size }
    if (req.query.reset === '1') { ids.clear(); posts = 0 }
    return out
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  process.stderr.write(`LISTENING ${url}\n`)
} else if (mode === 'hello') {
  const app = Fastify({ logger: false })
  app.get('/hello', async (_req, reply) => await reply.type('text/plain; charset=utf-8').send('hello world'))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  process.stderr.write(`LISTENING ${url}\n`)
} else {
  const fake = await FakeAmi.start()
  const config = benchConfig({ amiPort: fake.port, logLevel: level, agents: Number(agents), storePath: path.join(mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-serve-')), 'cti.db') })
  const logger = pino({ level: config.log.level, redact: { paths: redactPaths, censor: '[redacted]' } })
  const svc = await createService(config, logger)
  const url = await svc.start()
  while (!svc.ami.ready) await new Promise(resolve => setTimeout(resolve, 20))
  process.stderr.write(`LISTENING ${url}\n`)
}
