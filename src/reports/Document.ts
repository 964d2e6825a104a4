/**
 * A report as data: headings, paragraphs, key/value lists, tables and
 * verbatim blocks of plain strings. The Markdown and HTML writers are the
 * only places that turn it into text, and they escape every string they
 * are given, so no value (a hostile service banner, a script's output, a
 * host name) can become markup, whichever part of a report it lands in.
 */

/** A run of text; `code` is shown as code (versions, banners, command lines), `strong` in bold. */
export interface Span {
  readonly text: string
  readonly style?: "code" | "strong"
}

export type Inline = string | Span

export type Block =
  | { readonly _tag: "Heading"; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly _tag: "Paragraph"; readonly inlines: ReadonlyArray<Inline> }
  /** A labelled list of facts, e.g. `Outcome: succeeded`. */
  | { readonly _tag: "Facts"; readonly facts: ReadonlyArray<readonly [label: string, value: ReadonlyArray<Inline>]> }
  | { readonly _tag: "Bullets"; readonly items: ReadonlyArray<ReadonlyArray<Inline>> }
  | { readonly _tag: "Table"; readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<ReadonlyArray<Inline>>> }
  /** Text shown exactly as it is, lines kept (script output). */
  | { readonly _tag: "Verbatim"; readonly text: string }
  /** Something the reader must not miss: a partial result, a cut list. */
  | { readonly _tag: "Warning"; readonly inlines: ReadonlyArray<Inline> }

export interface Document {
  readonly title: string
  readonly blocks: ReadonlyArray<Block>
}

export const heading = (level: 1 | 2 | 3, text: string): Block => ({ _tag: "Heading", level, text })
export const paragraph = (...inlines: ReadonlyArray<Inline>): Block => ({ _tag: "Paragraph", inlines })
export const facts = (entries: ReadonlyArray<readonly [string, ReadonlyArray<Inline> | Inline]>): Block => ({
  _tag: "Facts",
  facts: entries.map(([label, value]) => [label, typeof value === "string" || !Array.isArray(value) ? [value as Inline] : value])
})
export const bullets = (items: ReadonlyArray<ReadonlyArray<Inline>>): Block => ({ _tag: "Bullets", items })
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<Inline | ReadonlyArray<Inline>>>): Block => ({
  _tag: "Table",
  header,
  rows: rows.map((row) => row.map((cell) => (Array.isArray(cell) ? cell : [cell as Inline])))
})
export const verbatim = (text: string): Block => ({ _tag: "Verbatim", text })
export const warning = (...inlines: ReadonlyArray<Inline>): Block => ({ _tag: "Warning", inlines })
export const code = (text: string): Span => ({ text, style: "code" })
export const strong = (text: string): Span => ({ text, style: "strong" })

export const spanOf = (inline: Inline): Span => (typeof inline === "string" ? { text: inline } : inline)

/**
 * Control characters (a terminal escape in a banner) and the bidirectional
 * overrides that make text read differently than it is ("Trojan Source")
 * become U+FFFD in every writer; line breaks become spaces outside
 * verbatim blocks.
 */

const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g
export const cleanText = (text: string): string => text.replace(UNSAFE, "\uFFFD")
export const oneLine = (text: string): string => cleanText(text.replace(/\r\n|\r|\n|\t/g, " "))
export const cleanLines = (text: string): string => cleanText(text.replace(/\r\n?/g, "\n").replace(/\t/g, "    "))
