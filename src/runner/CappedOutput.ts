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

/** Decoding without `stream` keeps no state between calls, so one decoder serves every buffer. */
const utf8 = new TextDecoder("utf-8")

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
    const bytes = Buffer.concat(this.chunks, this.kept)
    const length = this.dropped ? utf8PrefixLength(bytes, bytes.length) : bytes.length
    return utf8.decode(bytes.subarray(0, length))
  }
}
