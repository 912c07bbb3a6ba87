// The process: read and validate config (exit non-zero naming every bad key before
// listening), log with secrets redacted, run, and shut down gracefully on signals.
//
// On PostgreSQL the port answers from the first moment: while the database cannot be
// reached at start (down, refusing, frozen), a small app says why and answers 503
// (src/http/starting.ts), the store is tried again with back-off (src/store/open.ts),
// and once it opens the full service is built in this process and takes the same port.
// SQLite opens in milliseconds or not at all (a file it cannot open is a config error,
// and exiting names it), so there is nothing to wait for and the full app listens first.
//
// With `ha` configured (PostgreSQL only) the process is one instance of an HA group:
// src/ha/runner.ts serves a standby app on the port and runs the full service only while
// this instance holds the group's lease.
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { ConfigError, configPath, loadConfig } from './config/load.ts'
import type { Config } from './config/schema.ts'
import { loggerOptions } from './log.ts'
import { createService, type Service } from './service.ts'
import { failpoints } from './failpoints.ts'
import { buildStartingApp, type StartingApp } from './http/starting.ts'
import { GroupRunner } from './ha/runner.ts'
import { StoreVersionError } from './store/errors.ts'
import { storeConfigOf, storeWhere } from './store/open.ts'

let config: Config
try {
  config = loadConfig(configPath(process.env), process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`pln123-cti: ${err.message}\n`)
  process.exit(1)
}

const logger = pino(loggerOptions(config.log.level))
const failpoint = failpoints(process.env.CTI_FAILPOINTS)
if (failpoint !== undefined) logger.warn({ failpoints: process.env.CTI_FAILPOINTS }, 'crash-test failpoints armed: this process will kill itself at them')

// A signal while the store is waited for ends the wait: there is nothing to undo yet.
const abort = new AbortController()
let starting: StartingApp | undefined
let service: Service | undefined
let group: GroupRunner | undefined

closeWithGrace({ delay: config.http.shutdownTimeoutMs, logger: { error: (m: unknown) => logger.error(m as object, 'forced shutdown') } }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'shutting down after an error')
  else logger.info({ signal }, 'shutting down')
  abort.abort()
  const waiting = starting
  starting = undefined
  await waiting?.app.close()
  await group?.stop()
  await service?.stop()
  logger.info('stopped')
})

/** A store written by a newer version: say so and exit 1 before the service runs. */
function exitTooNew (err: StoreVersionError): never {
  logger.fatal({ code: err.code, store: err.file, found: err.found, known: err.known }, err.message)
  process.stderr.write(`pln123-cti: ${err.message}\n`)
  process.exit(1)
}

async function runGroup (config: Config): Promise<void> {
  group = new GroupRunner(config, logger, {
    ...(failpoint !== undefined ? { failpoint } : {}),
    onFatal: err => { if (err instanceof StoreVersionError) exitTooNew(err); throw err }
  })
  try {
    await group.start()
  } catch (err) {
    if (abort.signal.aborted) return
    if (err instanceof StoreVersionError) exitTooNew(err)
    throw err
  }
}

async function run (config: Config): Promise<void> {
  if (config.ha !== undefined) { await runGroup(config); return }
  if (config.store.kind === 'postgres') {
    const where = storeWhere(storeConfigOf(config.store))
    starting = await buildStartingApp(config, { ami: { host: config.ami.host, port: config.ami.port, user: config.ami.username }, store: { kind: 'postgres', where } }, hostname(), logger)
    const address = await starting.app.listen({ host: config.http.host, port: config.http.port })
    // Port 0 (tests): the full app takes the port the starting one was given.
    config = { ...config, http: { ...config.http, port: (starting.app.server.address() as AddressInfo).port } }
    logger.info({ address, store: where }, 'pln123-cti answering while its store opens (503 until it does)')
  }
  let created: Service
  try {
    created = await createService(config, logger, {
      ...(failpoint !== undefined ? { failpoint } : {}),
      storeWait: { signal: abort.signal, ...(starting !== undefined ? { onRetry: starting.onRetry } : {}) }
    })
  } catch (err) {
    if (abort.signal.aborted) return // shutting down (the handler above exits)
    // A store written by a newer version: say so and exit 1 before the service runs.
    if (!(err instanceof StoreVersionError)) throw err
    exitTooNew(err)
  }
  service = created
  if (abort.signal.aborted) { await created.stop(); return }
  let freedAt: number | undefined
  let boundAt: number | undefined
  created.app.server.once('listening', () => { boundAt = performance.now() })
  let released: { closed: Promise<void> } | undefined
  const address = await created.start({
    // The starting app frees the port (its last answers finish meanwhile); the full app binds it next.
    beforeListen: async () => {
      const waiting = starting
      starting = undefined
      if (waiting === undefined) return
      released = await waiting.release()
      freedAt = performance.now()
    }
  })
  // How long the port was closed between the two apps (a connection then is refused).
  const handOverMs = freedAt !== undefined && boundAt !== undefined ? { handOverMs: Math.round((boundAt - freedAt) * 10) / 10 } : {}
  await released?.closed
  logger.info({ address, ami: `${config.ami.host}:${config.ami.port}`, store: created.store.where, ...handOverMs }, 'pln123-cti listening')
}

await run(config)
