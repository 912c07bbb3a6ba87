// The AMI framing and parsing of asterisk-manager 0.2.0 (its ManagerReader), redone in
// linear time with a size limit. The library's reader buffered a line or a message
// without an end without limit, and re-split and re-shifted every line it held on each
// chunk: an unfinished message of many lines cost time quadratic in its lines (seconds
// per chunk past ~20,000 lines). This one looks at each received character once.
//
// Messages come out as the library made them (the adapter's event and response code
// reads that form): lower-cased trimmed keys, a repeated key as an array of its values,
// Variable/ChanVariable as a map of name=value, a "Response: Follows" as
// { response: 'follows', content, actionid }. Differences, on purpose: the objects
// have no prototype (a key named "constructor" or "__proto__" is just a key), and an
// empty message is not passed on.

export type RawMessage = Record<string, unknown>

export class AmiReader {
  /** The line received so far without its end. */
  private partial = ''
  /** Lines of the message in progress. */
  private lines: string[] = []
  /** 1 inside a "Response: Follows", 2 once its --END line came. */
  private follow = 0
  /** Characters of the message in progress received so far, its unfinished line included. */
  private held = 0
  private over = false

  /**
   * @param maxChars longest message (its lines, line ends included) before onOverflow
   * @param onMessage each complete message, in order
   * @param onOverflow called once when a message passes maxChars; the reader then ignores
   *   everything (the caller drops the connection)
   */
  constructor (
    private readonly maxChars: number,
    private readonly onMessage: (raw: RawMessage) => void,
    private readonly onOverflow: (chars: number) => void
  ) {}

  push (text: string): void {
    if (this.over) return
    let nl = text.indexOf('\n')
    if (nl < 0) {
      this.partial += text
      this.held += text.length
      this.checkSize()
      return
    }
    let line = this.partial + text.slice(0, nl)
    this.partial = ''
    let from = 0
    for (;;) {
      this.held += nl - from + 1
      this.line(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line)
      if (this.over) return
      from = nl + 1
      nl = text.indexOf('\n', from)
      if (nl < 0) break
      line = text.slice(from, nl)
    }
    if (from < text.length) {
      this.partial = text.slice(from)
      this.held += text.length - from
    }
    this.checkSize()
  }

  private checkSize (): void {
    if (this.held <= this.maxChars) return
    this.over = true
    const chars = this.held
    this.partial = ''
    this.lines = []
    this.onOverflow(chars)
  }

  /** One line, its end removed: the library's state machine, branch for branch. */
  private line (line: string): void {
    const lines = this.lines
    if (lines.length === 0 && line.startsWith('Asterisk Call Manager')) {
      // the greeting
    } else if (lines.length === 0 && (line.charCodeAt(0) | 32) === 114 && line.slice(0, 9).toLowerCase() === 'response:' && line.toLowerCase().includes('follow')) {
      this.follow = 1
      lines.push(line)
    } else if (this.follow !== 0 && (line === '--END COMMAND--' || line === '--END SMS EVENT--')) {
      this.follow = 2
      lines.push(line)
    } else if (this.follow > 1 && line.length === 0) {
      lines.pop()
      const content = lines.join('\n')
      const id = /actionid: ([^\r\n]+)/i.exec(content)
      const item: RawMessage = Object.create(null)
      item.response = 'follows'
      item.content = content
      if (id !== null) item.actionid = id[1]
      this.end()
      this.onMessage(item)
    } else if (this.follow === 0 && line.length === 0) {
      const item = lines.length > 0 ? headers(lines) : undefined
      this.end()
      if (item !== undefined) this.onMessage(item)
    } else {
      lines.push(line)
    }
  }

  private end (): void {
    this.follow = 0
    this.lines = []
    this.held = 0
  }
}

/** A message's header lines as the library made them into an object. */
function headers (lines: string[]): RawMessage {
  const item: RawMessage = Object.create(null)
  for (const line of lines) {
    if (line.length === 0) continue
    const sep = line.indexOf(': ')
    const key = (sep < 0 ? line : line.slice(0, sep)).trim().toLowerCase()
    const value = sep < 0 ? '' : line.slice(sep + 2)
    if (key === 'variable' || key === 'chanvariable') {
      // One or more variables attached to an event: a map of name to value.
      let vars = item[key] as Record<string, string> | undefined
      if (typeof vars !== 'object') item[key] = vars = Object.create(null) as Record<string, string>
      const eq = value.indexOf('=')
      vars[eq < 0 ? value : value.slice(0, eq)] = eq < 0 ? '' : value.slice(eq + 1)
    } else {
      const had = item[key]
      if (had === undefined) item[key] = value
      else if (Array.isArray(had)) had.push(value)
      else item[key] = [had, value]
    }
  }
  return item
}
