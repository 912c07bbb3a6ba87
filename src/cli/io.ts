// What the CLI writes to, so tests can run commands in-process and read the output.
export interface Io {
  out: (text: string) => Promise<void>
  err: (text: string) => Promise<void>
}

/** Wrong arguments: the message and the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** process.stdout/stderr with back-pressure, so a large export piped to a slow reader is not buffered whole. */
export function processIo (): Io {
  const write = (stream: NodeJS.WriteStream) => async (text: string): Promise<void> => {
    if (!stream.write(text)) await new Promise<void>(resolve => stream.once('drain', () => resolve()))
  }
  return { out: write(process.stdout), err: write(process.stderr) }
}
