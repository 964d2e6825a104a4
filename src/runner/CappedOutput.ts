/**
 * Length of the longest prefix of `bytes[0, length)` that does not end inside
 * a UTF-8 multi-byte sequence, so a cut at the cap never leaves half a char.
 */
export const utf8PrefixLength = (bytes: Uint8Array, length: number): number => {
  const end = Math.max(0, Math.min(length, bytes.length))
  // A sequence is at most 4 bytes: only its lead byte can sit 1–3 bytes back.
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const byte = bytes[end - back]!
    if ((byte & 0xc0) !== 0x80) {
      const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
      return needed > back ? end - back : end
    }
  }
  return end
}

const BOM = 0xfeff

/** `bytes[0, length)` as UTF-8, as a `TextDecoder` decodes it (invalid bytes replaced, a leading BOM dropped), several times faster. */
const decodeUtf8 = (bytes: Uint8Array, length: number, first: boolean): string => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, length).toString("utf8")
  return first && text.charCodeAt(0) === BOM ? text.slice(1) : text
}

/**
 * A streaming UTF-8 decoder that decodes as `new TextDecoder("utf-8")` with
 * `{ stream: true }` does: a sequence split across chunks is held back and
 * decoded with the next (cut only before a lead byte, so each part decodes
 * as it would within the whole), a leading BOM dropped, and what is held at
 * the end replaced by `end`. Buffer's decoder is several times faster than
 * TextDecoder's on what tools print.
 */
export const utf8Decoder = () => {
  let held: Uint8Array | undefined
  let first = true
  const decode = (bytes: Uint8Array, length: number) => {
    const text = decodeUtf8(bytes, length, first)
    // Only the stream's very first character may be a BOM that is dropped, even when it is all a write decoded.
    if (length > 0) first = false
    return text
  }
  return {
    write: (chunk: Uint8Array): string => {
      const bytes = held === undefined ? chunk : Buffer.concat([held, chunk])
      const whole = utf8PrefixLength(bytes, bytes.length)
      held = whole === bytes.length ? undefined : bytes.slice(whole)
      return decode(bytes, whole)
    },
    end: (): string => {
      const rest = held
      held = undefined
      return rest === undefined ? "" : decode(rest, rest.length)
    }
  }
}

/**
 * Keeps at most `cap` bytes of a stream and counts the rest as dropped, so a
 * flooding child costs bounded memory while it keeps being drained.
 */
export class CappedOutput {
  private readonly chunks: Array<Uint8Array> = []
  private kept = 0
  private dropped = false

  constructor(readonly cap: number) {}

  push(chunk: Uint8Array): void {
    const room = this.cap - this.kept
    if (chunk.length <= room) {
      this.chunks.push(chunk)
      this.kept += chunk.length
      return
    }
    this.dropped = true
    if (room > 0) {
      // Copy so the retained bytes do not pin the whole (possibly large) read buffer.
      this.chunks.push(chunk.slice(0, room))
      this.kept += room
    }
  }

  get truncated(): boolean {
    return this.dropped
  }

  /** The kept bytes decoded; when truncated, cut back to a character boundary. */
  text(): string {
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept)
    const length = this.dropped ? utf8PrefixLength(bytes, bytes.length) : bytes.length
    return decodeUtf8(bytes, length, true)
  }
}
