// host:port/database of a connection URL, for /v1/status and logs: never the user's
// password (nor any other query parameter). Parsed the way pg will connect.
import pg from 'pg'

export function describeUrl (url: string): string {
  // A Client parses its connection string at construction, without connecting.
  const c = new pg.Client({ connectionString: url }) as unknown as { host: string, port: number, database: string | undefined }
  return `${c.host}:${c.port}/${c.database ?? ''}`
}
