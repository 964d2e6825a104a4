/**
 * The one path every decision is made on. A proxy, the Host/Origin check and
 * the router each have their own idea of what `/health/../tools`, `//tools`,
 * `/tools;x`, `/%74ools` or `/tools/` mean; a path on which they could
 * disagree is refused instead of interpreted, so what is judged is what is
 * routed. The rules are RFC 3986's normal form, made strict:
 *
 * - origin-form only: `/` first (no `http://host/…`, no `*`);
 * - raw characters are unreserved, `/`, the sub-delimiters other than `;`,
 *   `:` and `@`: nothing else (no `\`, space, control, `#`, non-ASCII);
 * - no empty segment (`//`), no trailing `/` (except `/` itself), no segment
 *   that is `.`, `..` or ends with a dot;
 * - a percent-encoding is two upper-case hex digits of a printable ASCII
 *   character that must be encoded: never an unreserved character (`%74`
 *   is `t`), `/`, `\`, `;` or `%` (double encoding), a control character or
 *   a byte of a non-ASCII one.
 */

const RAW_ALLOWED = /^[A-Za-z0-9\-._~!$&'()*+,=:@/%]*$/

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/** Printable ASCII that may appear encoded: what RFC 3986 reserves or forbids raw, less the separators the router would act on. */
const mayBeEncoded = (code: number): boolean => {
  if (code < 0x20 || code > 0x7e) return false
  const char = String.fromCharCode(code)
  return !UNRESERVED.test(char) && char !== "/" && char !== "\\" && char !== ";" && char !== "%"
}

/** Why `path` is not in normal form, or undefined when it is. */
export const pathIssue = (path: string): string | undefined => {
  if (!path.startsWith("/")) return "the request target must be a path starting with / (origin form)"
  if (!RAW_ALLOWED.test(path)) return "the path holds a character that is not allowed unencoded (\\, ;, space, control or non-ASCII)"
  for (let i = path.indexOf("%"); i !== -1; i = path.indexOf("%", i + 1)) {
    const hex = path.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(hex)) return "a percent-encoding must be % and two upper-case hex digits"
    if (!mayBeEncoded(Number.parseInt(hex, 16))) {
      return `%${hex} encodes a character that must be written as it is, or one never allowed in a path (/, \\, ;, %, control, non-ASCII)`
    }
  }
  if (path === "/") return undefined
  const segments = path.slice(1).split("/")
  if (segments.some((segment) => segment === "")) return "the path has an empty segment (// or a trailing /)"
  if (segments.some((segment) => segment.endsWith("."))) return "a path segment is . or .., or ends with a dot"
  return undefined
}
