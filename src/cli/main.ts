// The operators' command line (`npx pln123-cti ...`). Reads the same config as the
// service (CTI_CONFIG and CTI_* overrides), so it finds the same store file.
// Exit codes: 0 done, 1 failed (message on stderr), 2 wrong arguments.
import { configPath, loadConfig } from '../config/load.ts'
import { agentsCommand, agentsUsage } from './agents.ts'
import { apktCommand, apktUsage } from './apkt.ts'
import { UsageError, type Io } from './io.ts'
import { purgeCommand, purgeUsage } from './purge.ts'
import { storeConfigOf } from '../store/open.ts'

const usage = `pln123-cti: CTI service tools\n${apktUsage}\n${purgeUsage}\n${agentsUsage}\n`

export async function main (argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      await io.out(usage)
      return command === undefined ? 2 : 0
    }
    if (command !== 'apkt' && command !== 'purge' && command !== 'agents') throw new UsageError(`unknown command "${command}"`)
    const config = loadConfig(configPath(env), env)
    if (command === 'purge') return await purgeCommand(rest, config, io)
    if (command === 'agents') return await agentsCommand(rest, config, io, env)
    return await apktCommand(rest, storeConfigOf(config.store), io)
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))) {
      await io.err(`pln123-cti: ${(err as Error).message}\n${usage}`)
      return 2
    }
    // Anything else (a bad config, an unknown or not-dead record): its message, exit 1.
    await io.err(`pln123-cti: ${(err as Error).message}\n`)
    return 1
  }
}
