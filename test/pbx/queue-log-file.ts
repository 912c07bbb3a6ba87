// Asterisk's queue_log file in the sandbox, read as lines (what queue_log readers see).
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Stack } from './harness.ts'

export interface Line { time: number, callId: string, queue: string, agent: string, event: string, data: string[] }

export async function queueLog (s: Stack): Promise<Line[]> {
  const text = await readFile(path.join(s.sb.dir, 'log', 'queue_log'), 'utf8')
  return text.split('\n').filter(l => l !== '').map(l => {
    const [time, callId, queue, agent, event, ...data] = l.split('|')
    return { time: Number(time), callId: callId ?? '', queue: queue ?? '', agent: agent ?? '', event: event ?? '', data }
  })
}
