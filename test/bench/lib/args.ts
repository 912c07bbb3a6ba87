// The benchmarks' command-line options, read from process.argv: `--name value` and
// `--flag`. One reader for every script, so `--rounds 5` means the same everywhere.
const at = (name: string): number => process.argv.indexOf(`--${name}`)

/** `--name N`, or `def` when absent. */
export const numArg = (name: string, def: number): number => { const i = at(name); return i > 0 ? Number(process.argv[i + 1]) : def }

/** `--name text`, or undefined when absent. */
export const textArg = (name: string): string | undefined => { const i = at(name); return i > 0 ? process.argv[i + 1] : undefined }

/** `--name a,b,c` as a set, or undefined when absent. */
export const listArg = (name: string): Set<string> | undefined => { const i = at(name); return i > 0 ? new Set((process.argv[i + 1] ?? '').split(',')) : undefined }

/** `--name` given at all. */
export const flagArg = (name: string): boolean => process.argv.includes(`--${name}`)
