import { createHash } from "node:crypto"
import { type Block, cleanLines, type Document, type Inline, oneLine, spanOf } from "./Document.js"

/**
 * A report as one self-contained HTML document: inline CSS only, no
 * scripts, images, fonts or links to anything. Every string is escaped
 * (`& < > " '`), so no value can open an element or an attribute. The
 * style sheet is allowed by its hash, so even a style element that got in
 * would not apply; the same policy travels inside the document (a saved
 * file opened later is as locked down as the served one).
 */

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "\"" ? "&quot;" : "&#39;"))

const STYLE = [
  "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;margin:2rem auto;max-width:72rem;padding:0 1rem}",
  "h1{font-size:1.6rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}h2{font-size:1.25rem;margin-top:2rem}h3{font-size:1.05rem}",
  "table{border-collapse:collapse;margin:.5rem 0;width:100%}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;",
  "vertical-align:top}th{background:#f6f8fa}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}",
  "code{background:#f6f8fa;padding:0 .2rem;word-break:break-all}pre{background:#f6f8fa;padding:.5rem;overflow:auto;white-space:pre-wrap}",
  "dl{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem}dt{font-weight:600}dd{margin:0}",
  ".warning{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem}"
].join("")

const STYLE_HASH = `'sha256-${createHash("sha256").update(STYLE, "utf8").digest("base64")}'`

/** The policy inside the document (a `<meta>` cannot carry frame-ancestors or sandbox). */
const META_POLICY = `default-src 'none'; style-src ${STYLE_HASH}; base-uri 'none'; form-action 'none'`

/** The Content-Security-Policy header an HTML report is served with. */
export const REPORT_CSP = `${META_POLICY}; frame-ancestors 'none'; sandbox`

const inline = (item: Inline): string => {
  const span = spanOf(item)
  const text = escapeHtml(oneLine(span.text))
  if (text === "") return ""
  return span.style === "code" ? `<code>${text}</code>` : span.style === "strong" ? `<strong>${text}</strong>` : text
}

const inlines = (items: ReadonlyArray<Inline>) => items.map(inline).join("")

const block = (b: Block): string => {
  switch (b._tag) {
    case "Heading":
      return `<h${b.level + 1}>${escapeHtml(oneLine(b.text))}</h${b.level + 1}>`
    case "Paragraph":
      return `<p>${inlines(b.inlines)}</p>`
    case "Facts":
      return `<dl>${b.facts.map(([label, value]) => `<dt>${escapeHtml(oneLine(label))}</dt><dd>${inlines(value)}</dd>`).join("")}</dl>`
    case "Bullets":
      return `<ul>${b.items.map((item) => `<li>${inlines(item)}</li>`).join("")}</ul>`
    case "Table":
      return `<table><thead><tr>${b.header.map((h) => `<th>${escapeHtml(oneLine(h))}</th>`).join("")}</tr></thead><tbody>${
        b.rows.map((cells) => `<tr>${cells.map((cell) => `<td>${inlines(cell)}</td>`).join("")}</tr>`).join("")
      }</tbody></table>`
    case "Verbatim":
      return `<pre>${escapeHtml(cleanLines(b.text))}</pre>`
    case "Warning":
      return `<p class="warning"><strong>Warning:</strong> ${inlines(b.inlines)}</p>`
  }
}

export const renderHtml = (doc: Document): string =>
  [
    "<!DOCTYPE html>",
    "<html lang=\"en\"><head><meta charset=\"utf-8\">",
    `<meta http-equiv="Content-Security-Policy" content="${META_POLICY}">`,
    "<meta name=\"referrer\" content=\"no-referrer\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
    `<title>${escapeHtml(oneLine(doc.title))}</title><style>${STYLE}</style></head>`,
    `<body><main><h1>${escapeHtml(oneLine(doc.title))}</h1>`,
    ...doc.blocks.map(block),
    "</main></body></html>",
    ""
  ].join("\n")
