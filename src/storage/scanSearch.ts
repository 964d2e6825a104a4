/**
 * The scan list's text search: every word of `q` must appear, in any case,
 * in the scan's summary, target, pinned address, tool or command line. Each
 * word becomes LIKE patterns (one per column form) with the wildcard
 * characters escaped, so `%` and `_` match themselves; the command line is
 * stored as a JSON array, so its pattern is the word as JSON writes it.
 */

/** More words than this is not a search a person types; each adds a pass over the rows. */
export const MAX_SEARCH_WORDS = 8
export const MAX_SEARCH_LENGTH = 200

/** The escape character of every pattern (`LIKE … ESCAPE '\'`). */
export const LIKE_ESCAPE = "\\"

const likeEscaped = (text: string) => text.replace(/[\\%_]/g, (c) => LIKE_ESCAPE + c)

export interface WordPatterns {
  /** For the plain text columns (lowercased). */
  readonly text: string
  /** For the command line's JSON text (lowercased). */
  readonly json: string
}

/** The search's words, lowercased: blanks separate them. */
export const searchWords = (q: string): ReadonlyArray<string> => q.toLowerCase().split(/\s+/).filter((word) => word !== "")

export const wordPatterns = (word: string): WordPatterns => ({
  text: `%${likeEscaped(word)}%`,
  json: `%${likeEscaped(JSON.stringify(word).slice(1, -1))}%`
})

/** Why `q` is not a search, or undefined. */
export const searchProblem = (q: string): string | undefined =>
  q.length > MAX_SEARCH_LENGTH
    ? `q must be at most ${MAX_SEARCH_LENGTH} characters`
    : searchWords(q).length > MAX_SEARCH_WORDS
    ? `q must have at most ${MAX_SEARCH_WORDS} words`
    : undefined
