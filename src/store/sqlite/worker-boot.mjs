// The worker's entry point, plain JavaScript on purpose: on Node 20 a worker thread
// does not get the tsx loader the main thread runs under (`tsx src/server.ts` and
// `node --import tsx` both answer "Unknown file extension .ts" for a .ts worker entry,
// although --import is passed on in execArgv), so the worker registers tsx itself and
// then loads the TypeScript module.
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
