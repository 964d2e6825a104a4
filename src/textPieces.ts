/** Texts are joined in pieces this long: one string that size is not copied by the young generation's collector. */
const PIECE_CHARS = 256 * 1024

/**
 * Many small texts kept until the end of a call (a pipe's chunks, a scan's
 * host texts), joined with `separator` as they come into pieces of
 * `PIECE_CHARS`: kept one by one, each would be copied by every
 * young-generation collection it outlives.
 */
export const textPieces = (separator: string) => {
  const pieces: Array<string> = []
  let texts: Array<string> = []
  let chars = 0
  let count = 0
  return {
    add: (text: string): void => {
      texts.push(text)
      count++
      chars += text.length
      if (chars < PIECE_CHARS) return
      pieces.push(texts.join(separator))
      texts = []
      chars = 0
    },
    /** How many texts were added. */
    count: (): number => count,
    /**
     * Every text added, joined with `separator`. The pieces are concatenated,
     * not joined: that copies nothing now, and whoever reads the text copies
     * it once (a scan's raw output is read by the store's writer, after the
     * answer went out).
     */
    text: (): string => {
      let out = pieces.length === 0 ? "" : pieces[0]!
      for (let i = 1; i < pieces.length; i++) out += separator + pieces[i]!
      if (texts.length === 0) return out
      const rest = texts.join(separator)
      return pieces.length === 0 ? rest : out + separator + rest
    }
  }
}
