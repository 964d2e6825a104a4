import { XMLParser } from "fast-xml-parser"

/**
 * Reading tool XML that may be hostile or cut short. Tools such as nmap echo
 * data chosen by the scanned host (banners, titles, certificate names), so the
 * document is untrusted: DOCTYPE declarations are removed before parsing and
 * only XML's five predefined entities and character references are decoded,
 * which rules out entity expansion (billion laughs) and external entities.
 */

export type XmlNode = Record<string, unknown>

export interface XmlDocument {
  readonly root: XmlNode
  /** False when the input had to be cut back to its last complete tag. */
  readonly complete: boolean
  readonly warnings: ReadonlyArray<string>
}

const CDATA = "__cdata"

const predefined: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: "\"", apos: "'" }

const codePoint = (n: number): string | undefined =>
  Number.isInteger(n) && n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : undefined

/** One pass, so `&amp;lt;` stays `&lt;`; unknown entities are left as written. */
const decodeEntities = (text: string): string =>
  text.indexOf("&") === -1
    ? text
    : text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,4});/g, (whole, ref: string) => {
      if (ref.startsWith("#x")) return codePoint(parseInt(ref.slice(2), 16)) ?? whole
      if (ref.startsWith("#")) return codePoint(parseInt(ref.slice(1), 10)) ?? whole
      return predefined[ref] ?? whole
    })

/** Removes every `<!DOCTYPE …>` (internal subset included); an unterminated one removes the rest of the input. */
const stripDoctype = (text: string): string => {
  let out = text
  for (;;) {
    const start = out.search(/<!DOCTYPE/i)
    if (start === -1) return out
    let depth = 0
    let quote: string | null = null
    let end = -1
    for (let i = start + 9; i < out.length; i++) {
      const c = out[i]
      if (quote !== null) {
        if (c === quote) quote = null
      } else if (c === "\"" || c === "'") quote = c
      else if (c === "[") depth++
      else if (c === "]") depth = Math.max(0, depth - 1)
      else if (c === ">" && depth === 0) {
        end = i
        break
      }
    }
    out = end === -1 ? out.slice(0, start) : out.slice(0, start) + out.slice(end + 1)
  }
}

const makeParser = (arrays: ReadonlySet<string>) =>
  new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    parseAttributeValue: false,
    cdataPropName: CDATA,
    isArray: (name: string) => arrays.has(name),
    attributeValueProcessor: (_name: string, value: string) => decodeEntities(value),
    tagValueProcessor: (name: string, value: string) => (name === CDATA ? value : decodeEntities(value))
  })

/**
 * Parses `text`, never throwing. `closingTag` (e.g. `</nmaprun>`) tells a
 * finished document from one cut short; a cut document is trimmed to its last
 * complete tag and its open elements are kept with what they hold so far.
 */
export const parseUntrustedXml = (text: string, closingTag: string, arrays: ReadonlySet<string>): XmlDocument => {
  const warnings: Array<string> = []
  const cleaned = stripDoctype(text)
  const complete = cleaned.includes(closingTag)
  const body = complete ? cleaned : cleaned.slice(0, cleaned.lastIndexOf(">") + 1)
  try {
    const root = makeParser(arrays).parse(body) as unknown
    return { root: isNode(root) ? root : {}, complete, warnings }
  } catch (error) {
    warnings.push(`unreadable XML: ${error instanceof Error ? error.message : String(error)}`)
    return { root: {}, complete: false, warnings }
  }
}

const isNode = (value: unknown): value is XmlNode => typeof value === "object" && value !== null && !Array.isArray(value)

/** The element `value` as a node: empty elements parse as `""`. */
export const node = (value: unknown): XmlNode => (isNode(value) ? value : {})

export const nodes = (value: unknown): ReadonlyArray<XmlNode> =>
  Array.isArray(value) ? value.map(node) : value === undefined ? [] : [node(value)]

export const attr = (n: XmlNode, name: string): string | undefined => {
  const value = n[`@${name}`]
  return typeof value === "string" ? value : undefined
}

export const numAttr = (n: XmlNode, name: string): number | undefined => {
  const value = attr(n, name)
  if (value === undefined || value.trim() === "") return undefined
  const parsed = Number(value)
  return Number.isFinite(parsed) ? parsed : undefined
}

/** Text content of an element, CDATA included. */
export const text = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (!isNode(value)) return undefined
  const parts = [value["#text"], value[CDATA]].flat().filter((v): v is string => typeof v === "string")
  return parts.length > 0 ? parts.join("") : undefined
}

export const texts = (value: unknown): ReadonlyArray<string> =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).map(text).filter((v): v is string => v !== undefined)
