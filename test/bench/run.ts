// npm run bench: every benchmark in sequence, each in its own process (a clean heap and
// nothing left over from the one before). Their JSON lines and summaries pass through;
// at the end the summaries are printed again together. Each benchmark's lines are kept
// in var/bench/<name>.jsonl and its summary in var/bench/<name>.txt (the last run of
// each), and var/bench/latest.txt gathers the latest summary of every benchmark.
// Never part of `npm test` (tap only runs test/**/*.test.ts).
//   npm run bench                      all of them (about 10 minutes)
//   npm run bench -- ami-ingest outbox only these
//   tsx test/bench/<name>.ts           one alone, with its own options (see its header)
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine } from './lib/report.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.resolve(here, '..', '..', 'var', 'bench')

const ALL = ['ami-ingest', 'dialplan-hook', 'readyz', 'transfer-latency', 'outbox', 'pbx-soak', 'button-floor', 'scale', 'purge', 'store-commit', 'reports', 'ha-group', 'wakeup']
const picked = process.argv.slice(2).filter(a => !a.startsWith('-'))
const unknown = picked.filter(p => !ALL.includes(p))
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${ALL.join(', ')}\n`)
  process.exit(2)
}
const benches = picked.length > 0 ? picked : ALL

const summaries: string[] = []
const failed: string[] = []
const m = machine()
const header = `pln123-cti benchmarks, ${new Date().toISOString()}: ${m.nproc} x ${m.cpu}, Node ${m.node}`
process.stdout.write(`${header}\n`)
const t0 = Date.now()

for (const name of benches) {
  process.stdout.write(`\n== ${name}\n`)
  const started = Date.now()
  const lines: string[] = []
  let mine = ''
  const code = await new Promise<number>(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, `${name}.ts`)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d)
      buf += d.toString()
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.startsWith('{')) lines.push(line)
        else if (line.startsWith('SUMMARY ')) { mine = line.slice('SUMMARY '.length); summaries.push(mine) }
      }
    })
    child.once('exit', (c, signal) => resolve(c ?? (signal !== null ? 128 : 1)))
  })
  process.stdout.write(`== ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${Math.round((Date.now() - started) / 1000)} s\n`)
  if (code !== 0) failed.push(name)
  mkdirSync(out, { recursive: true })
  writeFileSync(path.join(out, `${name}.jsonl`), `${lines.join('\n')}\n`)
  writeFileSync(path.join(out, `${name}.txt`), `${header}\n${mine !== '' ? mine : `(no summary: exit ${code})`}\n`)
}

process.stdout.write(`\n${header}\n${summaries.map(s => `- ${s}`).join('\n')}\n`)
if (failed.length > 0) process.stdout.write(`failed: ${failed.join(', ')}\n`)
process.stdout.write(`total ${Math.round((Date.now() - t0) / 1000)} s\n`)
const latest = ALL.flatMap(name => {
  const f = path.join(out, `${name}.txt`)
  if (!existsSync(f)) return []
  const [when = '', text = ''] = readFileSync(f, 'utf8').split('\n')
  return [`- ${text}\n  (${when})`]
})
writeFileSync(path.join(out, 'latest.txt'), `${latest.join('\n')}\n`)
process.exit(failed.length > 0 ? 1 : 0)
