import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { SaxesParser } from "saxes"
import { untakenAt, xmlReader } from "../../src/tools/xmlReader.js"
import { fixture } from "./support.js"

/**
 * The reader against saxes, the parser it stands in for: the same events
 * (tags with their attributes, text), each in the same write (xml.ts bounds
 * the input read without an event), and the same errors, for nmap-like
 * documents full of hostile strings, malformed or cut anywhere, fed in
 * pieces cut anywhere (inside a tag, an entity, a surrogate pair). An error
 * may come a write later than saxes finds it: it only becomes a warning.
 */

type Event = ReadonlyArray<unknown>

interface Log {
  readonly events: Array<Event>
  readonly errors: Array<string>
}

/** The events saxes gives, wired as xml.ts wired it before the reader. */
const saxesEvents = (chunks: ReadonlyArray<string>): Log => {
  const errors: Array<string> = []
  const log: Array<Event> = []
  const parser = new SaxesParser({ position: false })
  let depth = 0
  let rootClosed = false
  let chars = 0
  parser.on("error", (e) => errors.push(e.message))
  parser.on("opentagstart", () => void (chars = 0))
  parser.on("attribute", (a) => void (chars += a.name.length + a.value.length))
  parser.on("opentag", (tag) => {
    depth++
    log.push(["open", tag.name, { ...tag.attributes }, chars])
  })
  parser.on("closetag", () => {
    if (--depth === 0) rootClosed = true
    log.push(["close"])
  })
  parser.on("text", (t) => log.push(["text", t]))
  parser.on("cdata", (t) => log.push(["text", t]))
  for (const chunk of chunks) {
    log.push(["write"])
    if (chunk.length > 0) parser.write(chunk)
  }
  if (rootClosed) parser.close()
  return { events: log, errors }
}

const readerEvents = (chunks: ReadonlyArray<string>): Log => {
  const errors: Array<string> = []
  const log: Array<Event> = []
  let depth = 0
  let rootClosed = false
  const reader = xmlReader({
    error: (message) => errors.push(message),
    open: (name, attributes, chars) => {
      depth++
      log.push(["open", name, { ...attributes }, chars])
    },
    close: () => {
      if (--depth === 0) rootClosed = true
      log.push(["close"])
    },
    text: (t) => log.push(["text", t])
  })
  for (const chunk of chunks) {
    log.push(["write"])
    if (chunk.length > 0) reader.write(chunk)
  }
  reader.end(rootClosed)
  return { events: log, errors }
}

/** `text` cut at `cuts` (offsets, any order, taken modulo its length). */
const pieces = (text: string, cuts: ReadonlyArray<number>): ReadonlyArray<string> => {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  return [...at, text.length].map((end, i) => text.slice(i === 0 ? 0 : at[i - 1], end))
}

/** Characters a scanned host may put in a banner, and the ones XML cares about. */
const hostileChar = FastCheck.oneof(
  { weight: 6, arbitrary: FastCheck.constantFrom("a", "Z", "0", " ", "-", ".", "_", ":", "/", "=") },
  { weight: 4, arbitrary: FastCheck.constantFrom("<", ">", "&", "\"", "'", ";", "#", "x", "]", "?", "!", "[") },
  { weight: 2, arbitrary: FastCheck.constantFrom("\n", "\t", "\r", "\r\n", "\u0000", "\u0001", "\u001f", "\u007f", "\u0085") },
  { weight: 2, arbitrary: FastCheck.constantFrom("é", "€", "😀", "\u2028", "\ufeff", "\ufffe", "\uffff", "\ud800", "\udc00") },
  {
    weight: 1,
    arbitrary: FastCheck.constantFrom("&amp;", "&lt;", "&#65;", "&#x1F600;", "&#0;", "&bogus;", "&;", "&#xd800;", "--", "]]>", "?>")
  }
)
const hostile = FastCheck.array(hostileChar, { maxLength: 24 }).map((cs) => cs.join(""))

/** One character written as nmap would (escaped), or as it came. */
const escapedChar = (c: string, how: number): string => {
  if (how % 7 === 0) return c
  const code = c.codePointAt(0)!
  switch (c) {
    case "&":
      return "&amp;"
    case "<":
      return "&lt;"
    case ">":
      return how % 2 === 0 ? ">" : "&gt;"
    case "\"":
      return "&quot;"
    case "'":
      return how % 3 === 0 ? "&apos;" : "&#39;"
    default:
      return code < 0x20 || code === 0x7f ? `&#x${code.toString(16)};` : c
  }
}

/** Mostly escaped, sometimes raw: hostile text as it may reach the reader. */
const written = FastCheck.tuple(hostile, FastCheck.nat()).map(([text, how]) => [...text].map((c, i) => escapedChar(c, how + i)).join(""))

const attr = FastCheck.tuple(FastCheck.constantFrom("name", "product", "output", "addr", "x:y", "v-1"), written, FastCheck.boolean())
  .map(([name, value, single]) => (single ? ` ${name}='${value.replace(/'/g, "&apos;")}'` : ` ${name}="${value.replace(/"/g, "&quot;")}"`))

const extra = FastCheck.oneof(
  { weight: 6, arbitrary: FastCheck.constantFrom("", "\n", " \t\n") },
  { weight: 1, arbitrary: written.map((t) => `<!--${t}-->`) },
  { weight: 1, arbitrary: written.map((t) => `<![CDATA[${t}]]>`) },
  { weight: 1, arbitrary: written.map((t) => `<?pi ${t}?>`) },
  { weight: 1, arbitrary: written }
)

const port = FastCheck.tuple(FastCheck.integer({ min: 1, max: 65535 }), FastCheck.array(attr, { maxLength: 3 }), written, extra)
  .map(([id, attrs, output, between]) =>
    `<port protocol="tcp" portid="${id}"><state state="open" reason="syn-ack" reason_ttl="0"/>${between}` +
    `<service name="x"${attrs.join("")}/><script id="s" output="${output.replace(/"/g, "&quot;")}">` +
    `<elem key="k">${output}</elem><table key="t"><elem>${output}</elem></table></script></port>\n`
  )

const host = FastCheck.tuple(FastCheck.integer({ min: 0, max: 255 }), FastCheck.array(port, { maxLength: 4 }), written, extra).map((
  [i, ports, name, between]
) =>
  `<host starttime="1"><status state="up" reason="user-set" reason_ttl="0"/>\n<address addr="127.0.0.${i}" addrtype="ipv4"/>\n` +
  `<hostnames><hostname name="${name.replace(/"/g, "&quot;")}" type="PTR"/></hostnames>${between}<ports>${
    ports.join("")
  }</ports>\n</host>\n`
)

const prolog = FastCheck.constantFrom(
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n<?xml-stylesheet href=\"file:///nmap.xsl\" type=\"text/xsl\"?>\n" +
    "<!-- Nmap 7.93 scan initiated as: nmap -oX - -n -&#45;stats-every 5s -->\n",
  "<?xml version=\"1.0\"?>",
  "",
  "\n<?xml version=\"1.0\"?>",
  "\ufeff<?xml version=\"1.0\"?>",
  "<?xml version='1.0'?>",
  "<?xml version=\"1.1\"?>",
  "<!DOCTYPE nmaprun [<!ENTITY x \"y\">]>",
  "<!DOCTYPE nmaprun><!DOCTYPE again>",
  "junk before"
)

/** A report shaped like nmap's, from `hosts`, then damaged: something put in anywhere, or cut short. */
const reportOf = (hosts: FastCheck.Arbitrary<ReadonlyArray<string>>) =>
  FastCheck.tuple(
    prolog,
    hosts,
    extra,
    FastCheck.constantFrom("", "\n", "\n<!-- after -->\n", "trailing <junk", "<again/>", "</nmaprun>"),
    FastCheck.option(FastCheck.tuple(FastCheck.nat(), written), { freq: 3 }),
    FastCheck.option(FastCheck.nat(), { freq: 4 })
  ).map(([head, hosts, between, tail, damage, cut]) => {
    let text = `${head}<nmaprun scanner="nmap" args="nmap -oX -">\n${between}${hosts.join("")}` +
      `<runstats><finished elapsed="1.2" exit="success"/></runstats>\n</nmaprun>${tail}`
    if (damage !== null) {
      const at = damage[0] % (text.length + 1)
      text = text.slice(0, at) + damage[1] + text.slice(at)
    }
    return cut === null ? text : text.slice(0, cut % (text.length + 1))
  })

const report = reportOf(FastCheck.array(host, { maxLength: 4 }))

/** Hosts written alike, as a /24 of one kind of machine is: their lines repeat word for word. */
const alikeHosts = FastCheck.tuple(host, FastCheck.integer({ min: 2, max: 5 })).map(([h, n]) => Array.from({ length: n }, () => h))

describe("xmlReader", () => {
  it("says what saxes says of a second XML declaration after the one the fast path took", () => {
    const text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?xml -stylesheet href=\"file:///nmap.xsl\"?>\n" +
      "<nmaprun scanner=\"nmap\"><runstats/></nmaprun>"
    for (const chunks of [[text], [text.slice(0, 50), text.slice(50)]]) {
      expect(readerEvents(chunks)).toEqual(saxesEvents(chunks))
    }
  })

  it.prop("gives saxes's events, in saxes's writes, for any nmap-like report cut into any pieces", {
    text: report,
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 30 })
  }, ({ cuts, text }) => {
    const chunks = pieces(text, cuts)
    expect(readerEvents(chunks)).toEqual(saxesEvents(chunks))
  }, { fastCheck: { numRuns: 1500 } })

  it.prop("gives saxes's events, in saxes's writes, for reports whose lines repeat (read once, then found by their text)", {
    text: reportOf(alikeHosts),
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 30 })
  }, ({ cuts, text }) => {
    const chunks = pieces(text, cuts)
    expect(readerEvents(chunks)).toEqual(saxesEvents(chunks))
  }, { fastCheck: { numRuns: 1000 } })

  it.prop("gives saxes's events for nmap's own reports, cut anywhere", {
    name: FastCheck.constantFrom("connect", "discovery", "hostscript", "service", "truncated", "udp", "progress"),
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 60 })
  }, ({ cuts, name }) => {
    const chunks = pieces(fixture(`nmap/${name}.xml`), cuts)
    expect(readerEvents(chunks)).toEqual(saxesEvents(chunks))
  }, { fastCheck: { numRuns: 200 } })

  it.prop("gives saxes's events for any characters at all", {
    text: FastCheck.string({ unit: "binary", maxLength: 200 }),
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 10 })
  }, ({ cuts, text }) => {
    const chunks = pieces(`<r a="1">${text}</r>`, cuts)
    expect(readerEvents(chunks)).toEqual(saxesEvents(chunks))
  }, { fastCheck: { numRuns: 300 } })

  it.prop("finds the first character it never takes as one regex with lookarounds finds it", {
    text: FastCheck.string({
      unit: FastCheck.oneof(
        FastCheck.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\r", "\u0000", "\uffff", "a"),
        FastCheck.string({ unit: "binary", maxLength: 1 })
      ),
      maxLength: 12
    }),
    from: FastCheck.nat({ max: 13 })
  }, ({ from, text }) => {
    const untaken = /[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
    untaken.lastIndex = from
    expect(untakenAt(text, from)).toBe(untaken.exec(text)?.index ?? -1)
  }, { fastCheck: { numRuns: 2000 } })

  it("reads tokens longer than it keeps unfinished (attribute values, comments, text) as saxes does", () => {
    const long = "a>b&amp;c ".repeat(20_000)
    const text = `<r><s output="${long}"/><!--${long.replace(/&amp;/g, "")}-->${long}<t/></r>`
    const chunks = pieces(text, Array.from({ length: 400 }, (_, i) => i * 997))
    expect(readerEvents(chunks)).toEqual(saxesEvents(chunks))
  })

  it("decodes every entity and character reference, and keeps a repeated tag's attributes apart from the next one's", () => {
    const text = `<r a="&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;" b='x"y'>&amp;&#10;&#xA;é<e k="1"/><e k="1"/><e k="2"/></r>`
    const { events } = readerEvents([text])
    expect(readerEvents([text])).toEqual(saxesEvents([text]))
    expect(events[1]).toEqual(["open", "r", { a: "&<>\"'AB😀", b: "x\"y" }, 14])
    expect(events.filter((e) => e[0] === "open").map((e) => e[2])).toEqual([
      { a: "&<>\"'AB😀", b: "x\"y" },
      { k: "1" },
      { k: "1" },
      { k: "2" }
    ])
  })
})
