// The Asterisk sandbox as the PBX benchmarks start it: the project's queues.conf with its
// members replaced by the benchmark's agents (Local channels, one per agent).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { PbxSandbox, projectRoot } from '../../pbx/sandbox.ts'
import { memberInterface } from './ami-stream.ts'
import { note } from './report.ts'

export async function sandboxWithAgents (ids: readonly string[]): Promise<PbxSandbox> {
  const queues = readFileSync(path.join(projectRoot, 'config', 'asterisk', 'queues.conf'), 'utf8')
    .split('\n').filter(l => !l.startsWith('member =>')).join('\n').trimEnd() + '\n' +
    ids.map(id => `member => ${memberInterface(id)},0,Agent ${id},${memberInterface(id)}`).join('\n') + '\n'
  const sb = await PbxSandbox.start({ config: { 'queues.conf': queues } })
  note(`Asterisk sandbox up (AMI ${sb.amiPort}), ${ids.length} queue members`)
  return sb
}
