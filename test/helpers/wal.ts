// Counts the commits in an SQLite WAL file, read straight from disk: a frame whose
// header carries a non-zero "database size after commit" ends a transaction. Only
// frames of the current WAL generation count (their salts match the header's); older
// frames left beyond them by a reset are ignored. Format: sqlite.org/fileformat2.html#walformat
import { readFileSync } from 'node:fs'

export function walCommits (walPath: string): number {
  let buf: Buffer
  try { buf = readFileSync(walPath) } catch { return 0 }
  if (buf.length < 32) return 0
  const pageSize = buf.readUInt32BE(8)
  const salt1 = buf.readUInt32BE(16)
  const salt2 = buf.readUInt32BE(20)
  let commits = 0
  for (let off = 32; off + 24 + pageSize <= buf.length; off += 24 + pageSize) {
    if (buf.readUInt32BE(off + 8) !== salt1 || buf.readUInt32BE(off + 12) !== salt2) break
    if (buf.readUInt32BE(off + 4) !== 0) commits++
  }
  return commits
}
