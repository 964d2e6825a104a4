/**
 * A cheap upper estimate of how many tokens a text costs an agent: one pass
 * over its characters, no vocabulary. BPE tokenizers (o200k and the like)
 * split digits into groups of at most three, rarely merge punctuation with
 * what follows, and spend one token per byte on text they have not seen; so
 * digits count a token per three, each punctuation mark one, each letter run
 * one per three letters (split where the case changes, as in base64), a
 * non-ASCII character one per UTF-8 byte. Inside «…» (text from scanned
 * hosts: base64 keys, random strings) letters count nearly one token each.
 * Tests check it against o200k on realistic summaries: it must never count
 * fewer tokens than the tokenizer.
 */

const isDigit = (c: number) => c >= 48 && c <= 57
const isUpper = (c: number) => c >= 65 && c <= 90
const isLower = (c: number) => c >= 97 && c <= 122
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13

const LETTERS_PER_TOKEN = 3
const FENCED_LETTERS_PER_TOKEN = 1.25
const OPEN = 0xab
const CLOSE = 0xbb
const DIGITS_PER_TOKEN = 3

const utf8Bytes = (c: number): number => (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4)

export const estimateTokens = (text: string): number => {
  let tokens = 0
  let fenced = false
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (isLower(c) || isUpper(c)) {
      let j = i + 1
      // An upper-case letter after a lower-case one starts a new piece ("SimpleHTTPServer", base64).
      while (j < n && (isLower(text.charCodeAt(j)) || (isUpper(text.charCodeAt(j)) && !isLower(text.charCodeAt(j - 1))))) j++
      tokens += Math.ceil((j - i) / (fenced ? FENCED_LETTERS_PER_TOKEN : LETTERS_PER_TOKEN))
      i = j
    } else if (isDigit(c)) {
      let j = i + 1
      while (j < n && isDigit(text.charCodeAt(j))) j++
      tokens += Math.ceil((j - i) / DIGITS_PER_TOKEN)
      i = j
    } else if (isSpace(c)) {
      let j = i + 1
      while (j < n && isSpace(text.charCodeAt(j))) j++
      tokens += 1
      i = j
    } else if (c < 0x80) {
      tokens += 1
      i++
    } else {
      if (c === OPEN) fenced = true
      else if (c === CLOSE) fenced = false
      const code = text.codePointAt(i)!
      tokens += utf8Bytes(code)
      i += code > 0xffff ? 2 : 1
    }
  }
  return tokens
}
