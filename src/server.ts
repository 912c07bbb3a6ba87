// The process: read and validate config (exit non-zero naming every bad key before
// listening), log with secrets redacted, run, and shut down gracefully on signals.
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { ConfigError, configPath, loadConfig } from './config/load.ts'
import type { Config } from './config/schema.ts'
import { loggerOptions } from './log.ts'
import { createService } from './service.ts'
import { failpoints } from './failpoints.ts'
import { StoreVersionError } from './store/errors.ts'

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
// A store written by a newer version: say so and exit 1 before listening.
const service = await createService(config, logger, failpoint !== undefined ? { failpoint } : {}).catch((err: unknown) => {
  if (!(err instanceof StoreVersionError)) throw err
  logger.fatal({ code: err.code, store: err.file, found: err.found, known: err.known }, err.message)
  process.stderr.write(`pln123-cti: ${err.message}\n`)
  process.exit(1)
})

closeWithGrace({ delay: config.http.shutdownTimeoutMs, logger: { error: (m: unknown) => logger.error(m as object, 'forced shutdown') } }, async ({ signal, err }) => {
  if (err !== undefined) logger.error({ err }, 'shutting down after an error')
  else logger.info({ signal }, 'shutting down')
  await service.stop()
  logger.info('stopped')
})

const address = await service.start()
logger.info({ address, ami: `${config.ami.host}:${config.ami.port}`, store: config.store.path }, 'pln123-cti listening')
