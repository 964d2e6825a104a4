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
    /** Every text added, joined with `separator`. */
    text: (): string => (texts.length === 0 ? pieces : [...pieces, texts.join(separator)]).join(separator)
  }
}
