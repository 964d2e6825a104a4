import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { code, type Document, paragraph, table, verbatim } from "../../src/reports/Document.js"
import { escapeHtml, renderHtml, REPORT_CSP } from "../../src/reports/html.js"
import { codeSpan, escapeMarkdown, fenced, renderMarkdown } from "../../src/reports/markdown.js"
import { foreignMarkup } from "./support.js"

/** The two writers: every string is escaped, whatever it holds. */

const MD_SPECIAL = new Set(["\\", "`", "*", "_", "[", "]", "<", ">", "|", "~", "&"])

/** Characters of escaped Markdown text that would mean something: each must come after a backslash. */
const bareSpecials = (md: string): ReadonlyArray<string> => {
  const bare: Array<string> = []
  for (let i = 0; i < md.length; i++) {
    if (md[i] === "\\") i++
    else if (MD_SPECIAL.has(md[i]!)) bare.push(md[i]!)
  }
  return bare
}

const unescapeMarkdown = (md: string) => md.replace(/\\(.)/g, "$1")

const anyText = FastCheck.string({ unit: "binary", maxLength: 60 })
const markupish = FastCheck.array(
  FastCheck.constantFrom(
    "<",
    ">",
    "&",
    "\"",
    "'",
    "`",
    "```",
    "*",
    "_",
    "[",
    "](",
    "|",
    "\n",
    "\r",
    "#",
    "-",
    "=",
    "\\",
    "x",
    " ",
    "\u202e"
  ),
  { maxLength: 30 }
).map((parts) => parts.join(""))
const text = FastCheck.oneof(anyText, markupish)

describe("Markdown", () => {
  it.prop("escaped text has no bare special character and reads back as the one-line text", { s: text }, ({ s }) => {
    const md = escapeMarkdown(s)
    expect(bareSpecials(md)).toEqual([])
    expect(md).not.toMatch(/[\n\r]/)
    expect(unescapeMarkdown(md)).toBe(
      s.replace(/\r\n|\r|\n|\t/g, " ").replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, "\uFFFD")
    )
  })

  it.prop("no line of a fenced block can close it, and no backtick run in a code span matches its delimiter", { s: text }, ({ s }) => {
    const lines = fenced(s).split("\n")
    const fence = /^(`+)text$/.exec(lines[0]!)![1]!
    expect(lines[lines.length - 1]).toBe(fence)
    for (const line of lines.slice(1, -1)) expect(/^ {0,3}(`+)\s*$/.exec(line)?.[1]?.length ?? 0).toBeLessThan(fence.length)
    const span = codeSpan(s, true)
    if (span === "") return
    const delimiter = /^`+/.exec(span)![0]
    const inner = span.slice(delimiter.length, span.length - delimiter.length)
    expect(inner.match(/`+/g)?.every((run) => run.length !== delimiter.length) ?? true).toBe(true)
    expect(inner).not.toMatch(/(^|[^\\])\|/)
  })

  it("renders a hostile value as text: no HTML, link, image, heading or table cell gets out", () => {
    const hostile = "<script>alert(1)</script> [x](javascript:alert(1)) ![i](http://x) | # h **b**\n# H"
    const doc: Document = {
      title: hostile,
      blocks: [paragraph(hostile), paragraph(code(hostile)), table(["a", "b"], [[hostile, code(hostile)]]), verbatim("```\n" + hostile)]
    }
    const md = renderMarkdown(doc)
    expect(md).toContain("\\<script\\>alert(1)\\</script\\>")
    expect(md).toContain("\\[x\\](javascript:alert(1))")
    // The one heading is the title; a line break in a value is a space (inside the fenced block it is text).
    expect(md.split("````text")[0]!.split("\n").filter((line) => /^ {0,3}#/.test(line))).toHaveLength(1)
    // the table row keeps exactly its two cells
    const row = md.split("\n").find((line) => line.startsWith("| \\<script"))!
    expect(row.replace(/\\\|/g, "").split("|").length - 2).toBe(2)
    expect(md).toContain("````text\n```\n<script>")
  })
})

describe("HTML", () => {
  it.prop("a document of any text holds only the report's own elements", { s: text }, ({ s }) => {
    const html = renderHtml({ title: s, blocks: [paragraph(s, code(s)), table([s], [[s]]), verbatim(s)] })
    expect(foreignMarkup(html)).toEqual([])
  })

  it("escapes the five characters and locks the document down", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&amp;</a>`)).toBe("&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;")
    const html = renderHtml({ title: "t", blocks: [] })
    expect(html).not.toMatch(/<script|<link|<img|src=|href=/i)
    expect(REPORT_CSP).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox$/
    )
    expect(html).toContain(`content="${REPORT_CSP.replace("; frame-ancestors 'none'; sandbox", "")}"`)
  })

  it("the style sheet's hash is the one the policy allows", async () => {
    const { createHash } = await import("node:crypto")
    const style = /<style>([^<]*)<\/style>/.exec(renderHtml({ title: "t", blocks: [] }))![1]!
    expect(REPORT_CSP).toContain(`'sha256-${createHash("sha256").update(style, "utf8").digest("base64")}'`)
  })
})
