import { type Block, cleanLines, type Document, type Inline, oneLine, spanOf } from "./Document.js"

/**
 * A report in CommonMark with GFM tables. Every string is escaped: outside
 * code, each character Markdown gives a meaning to inline (`<`, `&`, `[`,
 * `` ` ``, `*`, `|` …) is backslash-escaped, so raw HTML, links, images and
 * entities cannot start; code spans and fenced blocks use a backtick run
 * longer than any in their text, so their text cannot close them (and
 * CommonMark never reads HTML inside code). A paragraph that starts with
 * a list, quote or heading marker has it escaped too.
 */

const PUNCTUATION = /[\\`*_[\]<>|~&]/g

export const escapeMarkdown = (text: string): string => oneLine(text).replace(PUNCTUATION, "\\$&")

const longestRun = (text: string, char: string): number => {
  let longest = 0
  let run = 0
  for (const c of text) {
    run = c === char ? run + 1 : 0
    if (run > longest) longest = run
  }
  return longest
}

/** A code span; in a table a `|` is escaped even there (GFM splits cells before reading code). */
export const codeSpan = (text: string, inTable: boolean): string => {
  const body = inTable ? oneLine(text).replace(/\|/g, "\\|") : oneLine(text)
  if (body === "") return ""
  const ticks = "`".repeat(longestRun(body, "`") + 1)
  const pad = body.startsWith("`") || body.endsWith("`") || body.startsWith(" ") || body.endsWith(" ") ? " " : ""
  return `${ticks}${pad}${body}${pad}${ticks}`
}

const inline = (item: Inline, inTable = false): string => {
  const span = spanOf(item)
  if (span.style === "code") return codeSpan(span.text, inTable)
  const text = escapeMarkdown(span.text)
  return span.style === "strong" && text !== "" ? `**${text}**` : text
}

const inlines = (items: ReadonlyArray<Inline>, inTable = false) => items.map((item) => inline(item, inTable)).join("")

/** A fenced block whose fence is longer than any backtick run of the text, so no line of it can close the block. */
export const fenced = (text: string): string => {
  const body = cleanLines(text)
  const fence = "`".repeat(Math.max(3, longestRun(body, "`") + 1))
  return `${fence}text\n${body}${body.endsWith("\n") || body === "" ? "" : "\n"}${fence}`
}

const row = (cells: ReadonlyArray<string>) => `| ${cells.map((c) => (c === "" ? " " : c)).join(" | ")} |`

const block = (b: Block): string => {
  switch (b._tag) {
    case "Heading":
      return `${"#".repeat(b.level + 1)} ${escapeMarkdown(b.text)}`
    case "Paragraph":
      return inlines(b.inlines).replace(/^([-+=>#])/, "\\$1").replace(/^(\d+)([.)])/, "$1\\$2")
    case "Facts":
      return b.facts.map(([label, value]) => `- **${escapeMarkdown(label)}:** ${inlines(value)}`).join("\n")
    case "Bullets":
      return b.items.map((item) => `- ${inlines(item)}`).join("\n")
    case "Table":
      return [
        row(b.header.map(escapeMarkdown)),
        row(b.header.map(() => "---")),
        ...b.rows.map((cells) => row(cells.map((cell) => inlines(cell, true))))
      ].join("\n")
    case "Verbatim":
      return fenced(b.text)
    case "Warning":
      return `> **Warning:** ${inlines(b.inlines)}`
  }
}

export const renderMarkdown = (doc: Document): string => [`# ${escapeMarkdown(doc.title)}`, ...doc.blocks.map(block)].join("\n\n") + "\n"
