import { Either } from "effect"
import { ArgumentRejected } from "../errors.js"

/**
 * Splitting of a caller's argument string. There is no shell anywhere: no
 * quoting, no escapes, no expansion. Tokens are separated by spaces and tabs;
 * every other character outside a small safe alphabet, including line breaks
 * (a classic injection vector into logs and wrappers), rejects the whole input.
 */

/** Characters any argument token may contain. */
export const safeToken = /^[A-Za-z0-9.:/=+,\-@%_]+$/

export const forbiddenCharacter = (token: string): ArgumentRejected => {
  const bad = [...token].find((ch) => !safeToken.test(ch)) ?? ""
  const code = bad.codePointAt(0) ?? 0
  const shown = code < 0x20 || code === 0x7f || code > 0x7e ? `U+${code.toString(16).toUpperCase().padStart(4, "0")}` : `'${bad}'`
  return new ArgumentRejected({
    token,
    rule: "forbidden_character",
    message: `Character ${shown} is not allowed in arguments; only letters, digits and . : / = + , - @ % _ are`
  })
}

export const tokenize = (input: string): Either.Either<ReadonlyArray<string>, ArgumentRejected> => {
  const tokens = input.split(/[ \t]+/).filter((token) => token !== "")
  const bad = tokens.find((token) => !safeToken.test(token))
  return bad === undefined ? Either.right(tokens) : Either.left(forbiddenCharacter(bad))
}
