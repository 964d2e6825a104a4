/**
 * An engagement's packet-rate ceiling, written into the argv by the server:
 * nmap gets `--max-rate` (and a `--min-rate` above the ceiling comes down
 * to it, since nmap refuses a minimum above the maximum), masscan its
 * `--rate`. A caller's own lower rate stands; a higher one is lowered. The
 * tokens are the argument policy's canonical ones (each flag followed by its
 * value), so a rate flag can be found by name.
 */

interface RateFlags {
  readonly max: string
  readonly min?: string
  readonly integer: boolean
}

const RATE_FLAGS: Readonly<Record<string, RateFlags>> = {
  NmapTool: { max: "--max-rate", min: "--min-rate", integer: false },
  MasscanTool: { max: "--rate", integer: true }
}

export interface Ceiled {
  readonly tokens: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
}

const format = (n: number, integer: boolean) => String(integer ? Math.max(1, Math.floor(n)) : Math.round(n * 1000) / 1000)

/** `tokens` with the ceiling applied, for the tools that take a rate; other tools' tokens are returned as they are. */
export const applyRateCeiling = (tool: string, tokens: ReadonlyArray<string>, ceiling: number | undefined, engagement: string): Ceiled => {
  const flags = RATE_FLAGS[tool]
  if (flags === undefined || ceiling === undefined) return { tokens, notes: [] }
  const cap = Number(format(ceiling, flags.integer))
  const out: Array<string> = []
  const notes: Array<string> = []
  let asked: number | undefined
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    const value = tokens[i + 1]
    if ((token === flags.max || token === flags.min) && value !== undefined) i++
    if (token === flags.max && value !== undefined) {
      asked = Math.min(asked ?? Infinity, Number(value))
      continue
    }
    if (token === flags.min && value !== undefined && Number(value) > cap) {
      out.push(token, String(cap))
      notes.push(`${flags.min} ${value} lowered to ${cap}, the packet-rate ceiling of engagement ${engagement}`)
      continue
    }
    if (token === flags.min && value !== undefined) out.push(token, value)
    else out.push(token)
  }
  const rate = asked === undefined ? cap : Math.min(asked, cap)
  if (asked !== undefined && asked > cap) {
    notes.push(`${flags.max} ${asked} lowered to ${cap}, the packet-rate ceiling of engagement ${engagement}`)
  } else if (asked === undefined) notes.push(`${flags.max} ${cap} added: the packet-rate ceiling of engagement ${engagement}`)
  return { tokens: [...out, flags.max, format(rate, flags.integer)], notes }
}
