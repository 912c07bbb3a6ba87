#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), as `npm start` does: no build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
const { processIo } = await import('../src/cli/io.ts')
process.exitCode = await main(process.argv.slice(2), process.env, processIo())
