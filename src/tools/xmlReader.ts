import { SaxesParser } from "saxes"

/**
 * The tokenizer under `xmlStream`: the events saxes gives for a document,
 * from a reader several times faster on what tools such as nmap write. The
 * fast path takes only the plain, machine-written subset of XML (ASCII names,
 * quoted attributes, the five predefined entities and character references,
 * comments, a simple DOCTYPE, PIs, no CR, no CDATA) and reads a token only
 * once it is complete, so a chunk may end anywhere. The first token outside
 * that subset, or anything malformed (hostile banners, a cut or garbled
 * report), goes to saxes instead, which reads the rest of the document from
 * that token on, primed with the elements open there: whatever saxes would
 * have said and done about the damage, it says and does.
 */

export interface XmlEvents {
  /** `attributes` is a null-prototype record; `attributeChars` the characters of its names and values. */
  readonly open: (name: string, attributes: Readonly<Record<string, string>>, attributeChars: number) => void
  /** saxes reports a self-closing tag as an open tag followed by a close tag; so does the fast path. */
  readonly close: () => void
  /** Text and CDATA, entity references decoded; a run between two pieces of markup is one event. */
  readonly text: (text: string) => void
  readonly error: (message: string) => void
  /**
   * A line of markup read before, given again whole instead of one event per
   * tag (`replayLine` gives those); without this handler the reader gives the
   * events. A reader of events that builds trees may build a line's once.
   */
  readonly line?: (line: MarkupLine) => void
}

/** A start tag of a `MarkupLine`: its element's name, attributes (a frozen record, shared) and their characters. */
export interface LineTag {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly chars: number
  readonly selfClosing: boolean
}

/**
 * A line of start and end tags (`undefined`) with nothing between them, every
 * element opened in it closed in it: the same events wherever it comes.
 */
export type MarkupLine = ReadonlyArray<LineTag | undefined>

/** The events of `line`, one by one, as the tags were read the first time. */
export const replayLine = (line: MarkupLine, events: Pick<XmlEvents, "open" | "close">): void => {
  for (const tag of line) {
    if (tag === undefined) events.close()
    else {
      events.open(tag.name, tag.attributes, tag.chars)
      if (tag.selfClosing) events.close()
    }
  }
}

export interface XmlReader {
  readonly write: (chunk: string) => void
  /** Ends the input (once): what is left goes to saxes, which is closed when `close` (the document was read to its end). */
  readonly end: (close: boolean) => void
}

/** Characters an unfinished token (or text run) may hold before saxes reads it instead. */
const MAX_UNFINISHED = 64 * 1024

/** A token that runs past the input so far: wait for more. */
const MORE = -1
/** A token the fast path does not take: saxes reads from here. */
const SAXES = -2

const DOCTYPE = /<!DOCTYPE[ \t\n]+[A-Za-z_:][-A-Za-z0-9._:]*[ \t\n]*>/y
/** Characters XML 1.0 forbids anywhere, a CR (saxes rewrites line ends), and surrogates, paired or not (see `untakenAt`). */
const SUSPECT = /[\u0000-\u0008\u000B-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/g

const isHigh = (c: number) => c >= 0xD800 && c <= 0xDBFF
const isLow = (c: number) => c >= 0xDC00 && c <= 0xDFFF

/**
 * Where the first character from `from` on is that the fast path never
 * takes: one XML forbids, a CR, or a surrogate without its pair (a high one
 * at the very end, whose pair may come next, too); -1 when there is none.
 * One plain character class finds candidates (a report is mostly ASCII, with
 * none); pairs are told from lone surrogates one by one.
 */
export const untakenAt = (buf: string, from: number): number => {
  SUSPECT.lastIndex = from
  for (;;) {
    const found = SUSPECT.exec(buf)
    if (found === null) return -1
    const at = found.index
    const c = buf.charCodeAt(at)
    if (isHigh(c)) {
      if (!isLow(buf.charCodeAt(at + 1))) return at
      SUSPECT.lastIndex = at + 2
    } else if (!isLow(c) || !isHigh(buf.charCodeAt(at - 1))) return at
  }
}
const NAMED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

/** XML 1.0's Char production. */
const isChar = (n: number) =>
  n === 0x9 || n === 0xA || n === 0xD || (n >= 0x20 && n <= 0xD7FF) || (n >= 0xE000 && n <= 0xFFFD) || (n >= 0x10000 && n <= 0x10FFFF)

/** One entity reference's text; undefined when saxes would complain about it. */
const entity = (name: string): string | undefined => {
  if (name.charCodeAt(0) !== 0x23) return Object.hasOwn(NAMED, name) ? NAMED[name] : undefined
  const hex = name.charCodeAt(1) === 0x78
  const digits = name.slice(hex ? 2 : 1)
  if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) return undefined
  const code = parseInt(digits, hex ? 16 : 10)
  return isChar(code) ? String.fromCodePoint(code) : undefined
}

/** `raw` with its references decoded; undefined when one is not well formed. */
const decoded = (raw: string): string | undefined => {
  let amp = raw.indexOf("&")
  if (amp === -1) return raw
  let out = ""
  let from = 0
  while (amp !== -1) {
    const semi = raw.indexOf(";", amp + 1)
    const value = semi === -1 ? undefined : entity(raw.slice(amp + 1, semi))
    if (value === undefined) return undefined
    out += raw.slice(from, amp) + value
    from = semi + 1
    amp = raw.indexOf("&", from)
  }
  return out + raw.slice(from)
}

/** An attribute value as written between its quotes, as saxes gives it: literal tabs and newlines become spaces. */
const attributeValue = (raw: string): string | undefined => {
  if (raw.indexOf("<") !== -1) return undefined
  const spaced = raw.indexOf("\n") === -1 && raw.indexOf("\t") === -1 ? raw : raw.replace(/[\t\n]/g, " ")
  return decoded(spaced)
}

interface Tag {
  /** Characters from its `<` to its `>`. */
  readonly length: number
  readonly name: string
  readonly attributes: Record<string, string>
  readonly chars: number
  readonly selfClosing: boolean
}

/** ASCII name characters the fast path takes: 1 may start a name, 2 may follow. Character loops, not regexes: a tag has many short spans. */
const NAME_CHARS = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  if (/[A-Za-z_:]/.test(ch)) NAME_CHARS[c] = 3
  else if (/[-0-9.]/.test(ch)) NAME_CHARS[c] = 2
}

const nameEnd = (buf: string, at: number): number => {
  if (at >= buf.length) return at
  const first = buf.charCodeAt(at)
  if (first >= 128 || (NAME_CHARS[first]! & 1) === 0) return at
  let i = at + 1
  for (; i < buf.length; i++) {
    const c = buf.charCodeAt(i)
    if (c >= 128 || NAME_CHARS[c] === 0) break
  }
  return i
}

const spaceEnd = (buf: string, at: number): number => {
  let i = at
  for (; i < buf.length; i++) {
    const c = buf.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0A && c !== 0x09) break
  }
  return i
}

/** The value of the attribute whose opening quote is at `open`, and where it closes; MORE or SAXES otherwise. */
const quoted = (buf: string, open: number): { readonly value: string; readonly close: number } | number => {
  const quote = buf.charCodeAt(open)
  if (quote !== 0x22 && quote !== 0x27) return SAXES
  let plain = true
  for (let i = open + 1; i < buf.length; i++) {
    const c = buf.charCodeAt(i)
    if (c === quote) {
      const raw = buf.slice(open + 1, i)
      const value = plain ? raw : attributeValue(raw)
      return value === undefined ? SAXES : { value, close: i }
    }
    if (c === 0x26 || c === 0x3C || c === 0x0A || c === 0x09) plain = false
  }
  return MORE
}

/** The start tag at `lt`: MORE when it may still be completed, SAXES when it is not one the fast path takes. */
const startTag = (buf: string, lt: number): Tag | number => {
  const end = nameEnd(buf, lt + 1)
  if (end >= buf.length) return MORE
  if (end === lt + 1) return SAXES
  const name = buf.slice(lt + 1, end)
  const attributes: Record<string, string> = Object.create(null)
  let chars = 0
  let i = end
  for (;;) {
    const j = spaceEnd(buf, i)
    if (j >= buf.length) return MORE
    const c = buf.charCodeAt(j)
    if (c === 0x3E) return { length: j + 1 - lt, name, attributes, chars, selfClosing: false }
    if (c === 0x2F) {
      if (j + 1 >= buf.length) return MORE
      return buf.charCodeAt(j + 1) === 0x3E ? { length: j + 2 - lt, name, attributes, chars, selfClosing: true } : SAXES
    }
    const keyEnd = nameEnd(buf, j)
    if (j === i || keyEnd === j) return SAXES
    const eq = spaceEnd(buf, keyEnd)
    if (eq >= buf.length) return MORE
    if (buf.charCodeAt(eq) !== 0x3D) return SAXES
    const open = spaceEnd(buf, eq + 1)
    if (open >= buf.length) return MORE
    const value = quoted(buf, open)
    if (typeof value === "number") return value
    const key = buf.slice(j, keyEnd)
    if (Object.hasOwn(attributes, key)) return SAXES
    attributes[key] = value.value
    chars += key.length + value.value.length
    i = value.close + 1
  }
}

const KNOWN_TAGS = 2048
const KNOWN_TAG_CHARS = 256

/**
 * The start tag at `lt`, read once per text: a report repeats its tags
 * word for word (every host's `<port protocol="tcp" portid="20000">`, its
 * `<state …/>`), and finding a tag by its text costs a fraction of reading
 * it. A tag is a pure function of its text, and its attribute record is
 * frozen, so elements sharing it cannot tell. Only short tags, and only so
 * many, so a hostile report cannot grow this.
 */
const knownTag = (buf: string, lt: number, tags: Map<string, Tag>): Tag | number => {
  const gt = buf.indexOf(">", lt)
  const text = gt !== -1 && gt - lt < KNOWN_TAG_CHARS ? buf.slice(lt, gt + 1) : undefined
  const known = text === undefined ? undefined : tags.get(text)
  if (known !== undefined) return known
  const tag = startTag(buf, lt)
  if (typeof tag !== "number" && text !== undefined && tag.length === text.length && tags.size < KNOWN_TAGS) {
    Object.freeze(tag.attributes)
    tags.set(text, tag)
  }
  return tag
}

/** The end tag at `lt`, which must close `name`: where it ends, MORE or SAXES. */
const endTag = (buf: string, lt: number, name: string | undefined): number => {
  const end = nameEnd(buf, lt + 2)
  const close = spaceEnd(buf, end)
  if (close >= buf.length) return MORE
  if (buf.charCodeAt(close) !== 0x3E || name === undefined || end - lt - 2 !== name.length || !buf.startsWith(name, lt + 2)) {
    return SAXES
  }
  return close + 1
}

/** Where the sticky `re` matched at `at` ends; MORE when `end` (the token's last character) is not there yet. */
const matched = (re: RegExp, buf: string, at: number, end: number): number => {
  if (end === -1) return MORE
  re.lastIndex = at
  return re.test(buf) && re.lastIndex === end + 1 ? re.lastIndex : SAXES
}

/** A comment (`<!--` at `lt`) the fast path takes: no `--` inside, not ending in `-`. */
const comment = (buf: string, lt: number): number => {
  const close = buf.indexOf("-->", lt + 4)
  if (close === -1) return MORE
  const body = buf.slice(lt + 4, close)
  return body.indexOf("--") === -1 && !body.endsWith("-") ? close + 3 : SAXES
}

/** The XML declarations the fast path takes at the start of a document; saxes reads any other. */
const XML_DECLS = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version=\"1.0\"?>"]

/**
 * Where the processing instruction at `lt` ends. saxes reads an `xml` one
 * (the XML declaration) by its own rules, so the fast path takes only the
 * declaration nmap writes, at the very start, and other targets.
 */
const instruction = (buf: string, lt: number, atStart: boolean): number => {
  if (atStart && buf.startsWith("<?xml", lt) && !/^<\?xml[-A-Za-z0-9._:]/.test(buf.slice(lt, lt + 6))) {
    const rest = buf.slice(lt)
    const decl = XML_DECLS.find((d) => rest.startsWith(d))
    if (decl !== undefined) return lt + decl.length
    return XML_DECLS.some((d) => d.startsWith(rest)) ? MORE : SAXES
  }
  const end = nameEnd(buf, lt + 2)
  if (end >= buf.length) return MORE
  if (end === lt + 2 || buf.slice(lt + 2, end).toLowerCase() === "xml") return SAXES
  const close = buf.indexOf("?>", end)
  if (close === -1) return MORE
  const after = buf.charCodeAt(end)
  return close === end || after === 0x20 || after === 0x09 || after === 0x0A ? close + 2 : SAXES
}

/** saxes, its events given to `events` except while `priming` says they were given already. */
const saxesReader = (events: XmlEvents) => {
  const sax = new SaxesParser({ position: false })
  let priming = false
  let attributeChars = 0
  sax.on("error", (e) => priming || events.error(e.message))
  // Counted as saxes reads each attribute of a tag (a duplicate too), before the tag's opentag.
  sax.on("opentagstart", () => void (attributeChars = 0))
  sax.on("attribute", (a) => void (attributeChars += a.name.length + a.value.length))
  // Without the xmlns option attribute values are plain strings.
  sax.on("opentag", (tag) => priming || events.open(tag.name, tag.attributes as Record<string, string>, attributeChars))
  sax.on("closetag", () => priming || events.close())
  sax.on("text", (t) => priming || events.text(t))
  sax.on("cdata", (t) => priming || events.text(t))
  // No handlers for comments, processing instructions or the DOCTYPE: each handler slows saxes down.
  return {
    /** Puts saxes where it would be after `prefix`, without its events. */
    prime: (prefix: string) => {
      priming = true
      try {
        sax.write(prefix)
      } finally {
        priming = false
      }
    },
    write: (chunk: string) => void sax.write(chunk),
    close: () => void sax.close()
  }
}

/** A line of markup being read for the first time, kept when it turns out to be one `knownLine` may give again. */
interface Recording {
  readonly text: string
  /** Where the line's newline is. */
  readonly end: number
  /** Elements open before the line. */
  readonly depth: number
  readonly events: Array<Tag | undefined>
}

/** A line kept by `knownLine`, and the known line that came after it last time. */
interface KnownLine {
  readonly text: string
  readonly events: MarkupLine
  next: KnownLine | undefined
}

/** Names of the elements open, and what else of the document so far decides how saxes reads on. */
interface Place {
  readonly open: Array<string>
  /** Start tags read before, by their text (see `knownTag`). */
  readonly tags: Map<string, Tag>
  /** Lines of markup read before, by their text (see `knownLine`). */
  readonly lines: Map<string, KnownLine>
  /** The known line given or kept last. */
  last: KnownLine | undefined
  line: Recording | undefined
  /**
   * Where the first newline at or after the last markup `knownLine` looked at
   * is in the text being read (its length when there is none), -1 before it
   * looked: found once for all the markup before it, so a long line of many
   * tags is searched once, not once per tag.
   */
  newline: number
  consumed: boolean
  /** The XML declaration the fast path took, "" if none: saxes carries what one declaration said into the next. */
  decl: string
  doctype: boolean
  rootClosed: boolean
}

const KNOWN_LINES = 1024
const KNOWN_LINE_CHARS = 512

/**
 * Where the markup at `lt` up to the next newline ends when that text was
 * read before, its events given again; -1 otherwise, after starting to record
 * it. A report writes its lines alike from host to host (every port of a
 * /24 on one line: `<port …><state …/><service …/></port>`), and finding a
 * line by its text costs a fraction of reading its tags one by one. Only a
 * line of start and end tags with nothing between them, whose tags all close
 * within it, is kept: what it gives is then a function of its text wherever
 * it comes (inside the root; every tag a shared one of `knownTag`). Only
 * short lines, and only so many, so a hostile report cannot grow this. The
 * lines repeat in order, so the one that followed the last line last time is
 * compared first: comparing two texts costs a fifth of hashing one.
 */
const knownLine = (buf: string, lt: number, place: Place, events: XmlEvents): number => {
  if (place.open.length === 0 || !place.consumed) return -1
  if (place.newline < lt) {
    const found = buf.indexOf("\n", lt)
    place.newline = found === -1 ? buf.length : found
  }
  const nl = place.newline
  if (nl === buf.length || nl - lt > KNOWN_LINE_CHARS) return -1
  const text = buf.slice(lt, nl)
  const guess = place.last?.next
  const known = guess !== undefined && guess.text === text ? guess : place.lines.get(text)
  if (known === undefined) {
    if (place.lines.size < KNOWN_LINES) place.line = { text, end: nl, depth: place.open.length, events: [] }
    return -1
  }
  follows(place, known)
  if (events.line === undefined) replayLine(known.events, events)
  else events.line(known.events)
  return nl
}

const follows = (place: Place, line: KnownLine) => {
  if (place.last !== undefined) place.last.next = line
  place.last = line
}

/** After the markup that ended at `end`: keeps the line being recorded when it ended there as one `knownLine` may give again. */
const recorded = (place: Place, end: number) => {
  const line = place.line
  if (line === undefined || end < line.end) return
  if (end === line.end && place.open.length === line.depth) {
    const known: KnownLine = { text: line.text, events: line.events, next: undefined }
    place.lines.set(line.text, known)
    follows(place, known)
  }
  place.line = undefined
}

/** The text from `at` up to markup at `lt`, decoded; undefined when saxes must read it. */
const textRun = (buf: string, at: number, lt: number, place: Place): string | undefined => {
  const raw = buf.slice(at, lt)
  const value = decoded(raw)
  if (value === undefined || raw.indexOf("]]>") !== -1) return undefined
  // Outside the root only white space is text (written as such); saxes has its say about anything else.
  return place.open.length === 0 && !/^[ \t\n]*$/.test(raw) ? undefined : value
}

/** The markup at `lt`, given to `events`: where it ends, MORE or SAXES. */
const markup = (buf: string, lt: number, place: Place, events: XmlEvents): number => {
  if (lt + 1 >= buf.length) return MORE
  const { open } = place
  const c = buf.charCodeAt(lt + 1)
  if (c === 0x2F) {
    const end = endTag(buf, lt, open[open.length - 1])
    if (end < 0) return end
    open.pop()
    if (open.length === 0) place.rootClosed = true
    const line = place.line
    if (line !== undefined) {
      if (open.length < line.depth) place.line = undefined
      else line.events.push(undefined)
    }
    events.close()
    return end
  }
  // Comments, the DOCTYPE and processing instructions are read one by one.
  if (c === 0x21 || c === 0x3F) place.line = undefined
  if (c === 0x21) {
    if (buf.length < lt + 4) return buf.startsWith("<!--".slice(0, buf.length - lt), lt) ? MORE : SAXES
    if (buf.startsWith("<!--", lt)) return comment(buf, lt)
    if (place.doctype || open.length > 0 || place.rootClosed) return SAXES
    const end = matched(DOCTYPE, buf, lt, buf.indexOf(">", lt))
    if (end > 0) place.doctype = true
    return end
  }
  if (c === 0x3F) {
    const end = instruction(buf, lt, !place.consumed && lt === 0)
    if (end > 0 && XML_DECLS.includes(buf.slice(lt, end))) place.decl = buf.slice(lt, end)
    return end
  }
  if (place.rootClosed) return SAXES
  const tag = knownTag(buf, lt, place.tags)
  if (typeof tag === "number") return tag
  if (place.line !== undefined) {
    if (Object.isFrozen(tag.attributes)) place.line.events.push(tag)
    else place.line = undefined
  }
  events.open(tag.name, tag.attributes, tag.chars)
  if (!tag.selfClosing) open.push(tag.name)
  else {
    if (open.length === 0) place.rootClosed = true
    events.close()
  }
  return lt + tag.length
}

/** The line known from before at `lt`, or else the markup there, given to `events`: where it ends, MORE or SAXES. */
const token = (buf: string, lt: number, place: Place, events: XmlEvents): number => {
  if (place.line === undefined) {
    const known = knownLine(buf, lt, place, events)
    if (known !== -1) return known
  }
  const end = markup(buf, lt, place, events)
  if (end >= 0) recorded(place, end)
  return end
}

/** The pieces of input as they came, from offset `from` of their concatenation on. */
const piecesFrom = (pieces: ReadonlyArray<string>, from: number): Array<string> => {
  const out: Array<string> = []
  let skip = from
  for (const piece of pieces) {
    if (skip >= piece.length) skip -= piece.length
    else {
      out.push(skip === 0 ? piece : piece.slice(skip))
      skip = 0
    }
  }
  return out
}

const startPlace = (): Place => ({
  open: [],
  tags: new Map(),
  lines: new Map(),
  last: undefined,
  line: undefined,
  newline: -1,
  consumed: false,
  decl: "",
  doctype: false,
  rootClosed: false
})

export const xmlReader = (events: XmlEvents): XmlReader => {
  const sax = saxesReader(events)
  let viaSaxes = false
  const place = startPlace()
  /**
   * Input not read yet (an unfinished token), also as the pieces it came in:
   * saxes, should it read them, is given them as they came, so it says what it
   * would have said at the end of each (its complaints depend on where the input was cut).
   */
  let buf = ""
  let pieces: Array<string> = []
  /** How much of a text run at the start of `buf` is known to hold no markup. */
  let scanned = 0
  /** `buf` starts with unfinished markup: read again once a `<` or `>` came (markup ends with `>`; saxes gives nothing before either). */
  let unfinished = false

  /** saxes reads on from `from` in `buf`. */
  const toSaxes = (from: number) => {
    viaSaxes = true
    // Where saxes would be here: past the XML declaration (the one taken, for what a second one is expected to say),
    // the DOCTYPE and the start tags of the open elements.
    if (place.consumed) {
      const elements = place.rootClosed ? "<x/>" : place.open.map((name) => `<${name}>`).join("")
      sax.prime(`${place.decl === "" ? "<!---->" : place.decl}${place.doctype ? "<!DOCTYPE x>" : ""}${elements}`)
    }
    const rest = piecesFrom(pieces, from)
    buf = ""
    pieces = []
    for (const piece of rest) sax.write(piece)
  }

  /** Reads the complete tokens in `buf` up to `limit`, where a character starts that the fast path never takes. */
  const read = (limit: number) => {
    const view = limit === buf.length ? buf : buf.slice(0, limit)
    let at = 0
    unfinished = false
    // A line is recorded within one write: one cut short is read again from its start.
    place.line = undefined
    place.newline = -1
    while (at < view.length) {
      const lt = view.indexOf("<", Math.max(at, scanned))
      if (lt === -1) {
        // Text kept here is copied once per write: a long run is saxes's, which adds to it piece by piece.
        if (view.length - at > MAX_UNFINISHED) return toSaxes(at)
        scanned = view.length
        break
      }
      const text = lt === at ? "" : textRun(view, at, lt, place)
      if (text === undefined) return toSaxes(at)
      // saxes gives a text run once it sees the markup after it, except the white space the document starts with.
      if (text !== "") {
        if (place.consumed) events.text(text)
        place.consumed = true
        place.line = undefined
      }
      at = lt
      scanned = 0
      const end = token(view, lt, place, events)
      if (end === MORE) {
        // An unfinished token is read again from its start: one too long for that is saxes's (it reads incrementally).
        if (view.length - lt > MAX_UNFINISHED) return toSaxes(lt)
        unfinished = true
        break
      }
      if (end === SAXES) return toSaxes(lt)
      place.consumed = true
      at = end
    }
    if (limit < buf.length) return toSaxes(at)
    scanned = Math.max(0, scanned - at)
    pieces = piecesFrom(pieces, at)
    buf = buf.slice(at)
  }

  return {
    write: (chunk) => {
      if (viaSaxes) return sax.write(chunk)
      const from = Math.max(0, buf.length - 1)
      buf += chunk
      pieces.push(chunk)
      if (!place.consumed && buf.charCodeAt(0) === 0xFEFF) return toSaxes(0)
      const found = untakenAt(buf, from)
      // A high surrogate at the end waits for its pair.
      const waits = found === -1 || (found === buf.length - 1 && isHigh(buf.charCodeAt(found)))
      if (waits && unfinished && buf.length <= MAX_UNFINISHED && !/[<>]/.test(chunk)) return
      read(waits ? buf.length : found)
    },
    end: (close) => {
      if (!viaSaxes && !/^[ \t\n]*$/.test(buf)) toSaxes(0)
      if (!close) return
      if (viaSaxes) sax.close()
      // The white space after the root, which saxes gives when it is closed.
      else if (buf !== "") events.text(buf)
    }
  }
}
