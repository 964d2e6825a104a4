/**
 * JSON text encoded once. A /24's structured result is megabytes: its stream
 * parser encodes each host as it is kept, while the tool still runs, and
 * records the text of the whole result; the REST answer and the stored row
 * then reuse that text instead of walking the result again, each on the
 * thread that answers. Results are immutable values, so a text recorded for
 * one stays its text.
 */

const known = new WeakMap<object, string>()

/** Records that `text` is `JSON.stringify(value)`; `value` must not change afterwards. */
export const knownJson = <A extends object>(value: A, text: string): A => {
  known.set(value, text)
  return value
}

/** `JSON.stringify(value)`, encoded once for each value however often it is asked for; `value` must not change afterwards. */
export const encodedOnce = (value: object): string => {
  let text = known.get(value)
  if (text === undefined) known.set(value, text = JSON.stringify(value))
  return text
}

/** What JSON.stringify leaves out of an object. */
const omitted = (value: unknown) => value === undefined || typeof value === "function" || typeof value === "symbol"

/** A plain object whose members JSON.stringify encodes one by one (no `toJSON` of its own, not an array). */
const plain = (value: object): value is Record<string, unknown> =>
  !Array.isArray(value) && typeof (value as { toJSON?: unknown }).toJSON !== "function"

/**
 * `JSON.stringify(value)` of a plain object with the text of some members
 * given (`parts`, by key): the same text, without encoding those members.
 */
export const jsonWithParts = (value: Record<string, unknown>, parts: Readonly<Record<string, string>>): string => {
  // Concatenated, not joined: the pieces are only copied once, when the text is written out.
  let text = ""
  for (const key of Object.keys(value)) {
    const member = value[key]
    if (omitted(member)) continue
    const part = Object.hasOwn(parts, key) ? parts[key] : undefined
    text += `${text === "" ? "" : ","}${JSON.stringify(key)}:${part ?? JSON.stringify(member)}`
  }
  return `{${text}}`
}

/** The JSON array of members given as JSON texts, concatenated (see `jsonWithParts`). */
export const jsonArrayOf = (texts: ReadonlyArray<string>): string => {
  let text = "["
  for (let i = 0; i < texts.length; i++) text += i === 0 ? texts[i]! : `,${texts[i]!}`
  return `${text}]`
}

const knownMember = (value: Record<string, unknown>, key: string): string | undefined => {
  const member = value[key]
  return typeof member === "object" && member !== null ? known.get(member) : undefined
}

/**
 * `JSON.stringify(value)` (no replacer, no indentation), reusing the
 * recorded text of `value` or of its direct members (an execute result's
 * `structured`, a stored record's).
 */
export const jsonText = (value: unknown): string => {
  if (typeof value !== "object" || value === null) return JSON.stringify(value)
  const text = known.get(value)
  if (text !== undefined) return text
  if (!plain(value)) return JSON.stringify(value)
  const parts: Record<string, string> = {}
  let found = false
  for (const key of Object.keys(value)) {
    const part = knownMember(value, key)
    if (part === undefined) continue
    parts[key] = part
    found = true
  }
  return found ? jsonWithParts(value, parts) : JSON.stringify(value)
}

/**
 * `jsonText(value)` in pieces, whose concatenation is that text, for a
 * caller that encodes each piece to bytes on its own: one non-ASCII
 * character (a summary's "…") makes a whole joined text two-byte, and its
 * UTF-8 encoding several times slower, while pieces that are ASCII (the
 * recorded texts, nmap's output) take the fast path.
 */
export const jsonPieces = (value: unknown): ReadonlyArray<string> => {
  if (typeof value !== "object" || value === null) return [JSON.stringify(value)]
  const text = known.get(value)
  if (text !== undefined) return [text]
  if (!plain(value)) return [JSON.stringify(value)]
  // A piece per member: the one-byte ones stay one-byte.
  const pieces: Array<string> = []
  for (const key of Object.keys(value)) {
    const member = value[key]
    if (omitted(member)) continue
    pieces.push(`${pieces.length === 0 ? "{" : ","}${JSON.stringify(key)}:${knownMember(value, key) ?? JSON.stringify(member)}`)
  }
  return pieces.length === 0 ? ["{}"] : [...pieces, "}"]
}

/** A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4; a lone one becomes U+FFFD). */
const MAX_UTF8_PER_UNIT = 3

/**
 * The UTF-8 bytes of the pieces, each as `Buffer.from` encodes it (JSON
 * pieces never split a surrogate pair), one after another in one buffer
 * sized for the worst case: no buffer per piece, no second copy to join
 * them, no pass to count the bytes first. A /24's 2.8 MB answer is encoded
 * in about half the time (3 ms instead of 7); the room left over is never
 * written, so it costs address space, not memory.
 */
export const utf8Of = (pieces: ReadonlyArray<string>): Buffer => {
  let chars = 0
  for (const piece of pieces) chars += piece.length
  const bytes = Buffer.allocUnsafe(chars * MAX_UTF8_PER_UNIT)
  let written = 0
  for (const piece of pieces) written += bytes.write(piece, written, "utf8")
  return bytes.subarray(0, written)
}
