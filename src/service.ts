// Wiring: the one place that builds every part from the validated config and owns
// their lifecycle (start order, and the reverse on stop).
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { AmiClient } from './ami/index.ts'
import { buildApp } from './app.ts'
import type { Config } from './config/schema.ts'
import { openStore, type Store } from './store/sqlite.ts'

export interface Service {
  config: Config
  app: FastifyInstance
  ami: AmiClient
  store: Store
  /** Listens, then connects to AMI; resolves with the listening address. */
  start: () => Promise<string>
  /** Stops taking requests, lets in-flight ones finish, then closes AMI and the store. */
  stop: () => Promise<void>
}

export async function createService (config: Config, logger: Logger): Promise<Service> {
  const store = openStore(config.store.path)
  const ami = new AmiClient({ ...config.ami, logger: logger.child({ module: 'ami' }) })
  const app = await buildApp(config, { ami, store }, logger)
  let stopped = false
  return {
    config,
    app,
    ami,
    store,
    async start () {
      const address = await app.listen({ host: config.http.host, port: config.http.port })
      ami.start()
      return address
    },
    async stop () {
      if (stopped) return
      stopped = true
      await app.close()
      await ami.close()
      store.close()
    }
  }
}
