// Just the surface of asterisk-manager 0.2.0 that src/ami/client.ts uses.
declare module 'asterisk-manager' {
  type RawMessage = Record<string, unknown>
  type ActionCallback = (err: RawMessage | undefined, res?: RawMessage) => void
  interface Manager {
    options: { port?: number, host: string, username: string, password: string, events: boolean }
    connect: (port: number, host: string, cb?: (err: Error | null) => void) => void
    login: (cb?: (err?: RawMessage) => void) => void
    action: (req: Record<string, unknown>, cb?: ActionCallback) => string
    disconnect: (cb?: () => void) => void
    isConnected: () => boolean
    on: (event: string, listener: (...args: any[]) => void) => Manager
    once: (event: string, listener: (...args: any[]) => void) => Manager
    removeAllListeners: (event?: string) => Manager
    listeners: (event: string) => Function[]
    emit: (event: string, ...args: unknown[]) => boolean
  }
  function AsteriskManager (port?: number, host?: string, username?: string, password?: string, events?: boolean): Manager
  export = AsteriskManager
}
