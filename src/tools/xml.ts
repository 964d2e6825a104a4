import { type MarkupLine, replayLine, type XmlEvents, xmlReader } from "./xmlReader.js"

/**
 * Reading tool XML as it streams, when it may be hostile or cut short. Tools
 * such as nmap echo data chosen by the scanned host (banners, titles,
 * certificate names), so the document is untrusted: a DOCTYPE is never
 * interpreted (skipped), only XML's five predefined entities and
 * character references are decoded, which rules out entity expansion (billion
 * laughs) and external entities. The caller names the elements it wants
 * (`collect`); each is built as a small tree, handed over when it closes and
 * then forgotten, so memory follows the largest element, not the document.
 */

export interface XmlElement {
  readonly name: string
  /** Null-prototype record: a hostile attribute name never reaches `Object.prototype`. */
  readonly attributes: Readonly<Record<string, string>>
  readonly children: ReadonlyArray<XmlElement>
  /** Text and CDATA directly inside the element, as written. */
  text: string
}

export interface CollectedElement {
  readonly element: XmlElement
  /** Characters of names, attribute values and text the element holds. */
  readonly chars: number
  /** False when the input ended before the element closed. */
  readonly closed: boolean
  /** True when its content passed the size bound and the rest of it was not kept. */
  readonly oversized: boolean
}

export interface XmlStreamOptions {
  /** Whether the element starting here (`depth` 0 is the root) is collected. */
  readonly collect: (name: string, depth: number) => boolean
  readonly onElement: (collected: CollectedElement) => void
  /** Start tags outside collected elements, e.g. the root's attributes or progress marks. */
  readonly onOpen?: (name: string, attributes: Readonly<Record<string, string>>, depth: number) => void
  /** Most characters one collected element, or one unbroken run of input, may hold. */
  readonly maxElementChars: number
}

export interface XmlStreamEnd {
  readonly sawRoot: boolean
  /** The root element was closed: the document was read to its end. */
  readonly rootClosed: boolean
  /** Reading stopped early because one run of input passed the size bound. */
  readonly stopped: boolean
  readonly warnings: ReadonlyArray<string>
}

export interface XmlStream {
  readonly write: (chunk: string) => void
  /** Ends the input (once); an element still open is handed over with `closed: false`. */
  readonly end: () => XmlStreamEnd
}

/** Problems are reported, not collected without bound: a garbled stream can fail at every character. */
const MAX_WARNINGS = 10

/** An element while it is built: `children` starts as the shared empty list (most elements of a report have none). */
interface Building {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  children: Array<XmlElement>
  text: string
}

const NO_CHILDREN: Array<XmlElement> = Object.freeze([]) as unknown as Array<XmlElement>

const append = (parent: Building, element: XmlElement) => {
  if (parent.children === NO_CHILDREN) parent.children = [element]
  else parent.children.push(element)
}

/** The elements a markup line holds, built as its events would build them, and the characters they count. */
interface LineTrees {
  readonly elements: ReadonlyArray<XmlElement>
  readonly chars: number
}

/** Frozen: they are shared, and a frozen element tells a reader of elements that it may be met again (elements.ts). */
const lineTrees = (line: MarkupLine): LineTrees => {
  const elements: Array<XmlElement> = []
  const all: Array<Building> = []
  const open: Array<Building> = []
  let chars = 0
  for (const tag of line) {
    if (tag === undefined) {
      open.pop()
      continue
    }
    const element: Building = { name: tag.name, attributes: tag.attributes, children: NO_CHILDREN, text: "" }
    const parent = open[open.length - 1]
    if (parent === undefined) elements.push(element)
    else append(parent, element)
    if (!tag.selfClosing) open.push(element)
    all.push(element)
    chars += tag.name.length + tag.chars
  }
  for (const element of all) Object.freeze(Object.freeze(element).children)
  return { elements, chars }
}

const makeWarnings = () => {
  const list: Array<string> = []
  let more = 0
  return {
    add: (text: string) => {
      if (list.length < MAX_WARNINGS) list.push(text)
      else more++
    },
    all: (): ReadonlyArray<string> => (more === 0 ? list : [...list, `and ${more} more XML problems`])
  }
}

/** Builds the collected elements from parser events; one collected element (and its children) at a time. */
const collector = (options: XmlStreamOptions) => {
  let depth = 0
  let sawRoot = false
  let rootClosed = false
  /** The collected element being built, innermost last; empty outside collected elements. */
  const stack: Array<Building> = []
  /** The size of the collected element (stack[0]), and whether it passed the bound. */
  let chars = 0
  let oversized = false
  let collectedAt = -1
  const built = new Map<MarkupLine, LineTrees>()
  const grow = (n: number) => {
    chars += n
    if (chars > options.maxElementChars) oversized = true
  }
  const handOver = (closed: boolean) => {
    const element = stack[0]!
    stack.length = 0
    collectedAt = -1
    options.onElement({ element, chars, closed, oversized })
  }
  return {
    /** `attributeChars`: the characters of the attributes' names and values. */
    open: (name: string, attributes: Readonly<Record<string, string>>, attributeChars: number) => {
      if (depth === 0) sawRoot = true
      if (stack.length === 0 && options.collect(name, depth)) {
        collectedAt = depth
        chars = 0
        oversized = false
      }
      if (collectedAt >= 0 && depth >= collectedAt) {
        const element: Building = { name, attributes, children: NO_CHILDREN, text: "" }
        const parent = stack[stack.length - 1]
        if (parent !== undefined && !oversized) append(parent, element)
        stack.push(element)
        grow(name.length + attributeChars)
      } else {
        options.onOpen?.(name, attributes, depth)
      }
      depth++
    },
    close: () => {
      depth--
      if (depth === 0) rootClosed = true
      if (stack.length === 1) handOver(true)
      else stack.pop()
    },
    text: (text: string) => {
      const top = stack[stack.length - 1]
      if (top === undefined || oversized) return
      top.text += text
      grow(text.length)
    },
    /**
     * A markup line read before, inside a collected element: its elements,
     * built the first time, are shared by every element that holds the line
     * (elements are never changed once closed). False when it must be given
     * event by event: outside a collected element, or where it passes the size bound.
     */
    line: (line: MarkupLine): boolean => {
      const parent = stack[stack.length - 1]
      if (parent === undefined || oversized) return false
      let trees = built.get(line)
      if (trees === undefined) built.set(line, trees = lineTrees(line))
      if (chars + trees.chars > options.maxElementChars) return false
      for (const element of trees.elements) append(parent, element)
      chars += trees.chars
      return true
    },
    /** Hands over the element still open at the end of the input. */
    flush: () => {
      if (stack.length > 0) handOver(false)
    },
    state: () => ({ sawRoot, rootClosed })
  }
}

export const xmlStream = (options: XmlStreamOptions): XmlStream => {
  const warnings = makeWarnings()
  const tree = collector(options)
  let stopped = false
  let ended = false
  let sinceEvent = 0
  let eventSeen = false
  const events: XmlEvents = {
    error: (message) => warnings.add(`unreadable XML: ${message}`),
    open: (name, attributes, attributeChars) => {
      eventSeen = true
      tree.open(name, attributes, attributeChars)
    },
    close: () => {
      eventSeen = true
      tree.close()
    },
    text: (text) => {
      eventSeen = true
      tree.text(text)
    },
    line: (line) => {
      eventSeen = true
      if (!tree.line(line)) replayLine(line, events)
    }
  }
  const reader = xmlReader(events)

  const guarded = (action: () => void) => {
    try {
      action()
    } catch (error) {
      // The reader reports through `error`; anything thrown past it ends the reading, never the caller.
      warnings.add(`unreadable XML: ${error instanceof Error ? error.message : String(error)}`)
      stopped = true
    }
  }

  return {
    write: (chunk) => {
      if (stopped || ended || chunk.length === 0) return
      eventSeen = false
      guarded(() => reader.write(chunk))
      // The reader buffers a value until it ends: an endless one must not grow memory without bound.
      sinceEvent = eventSeen ? 0 : sinceEvent + chunk.length
      if (sinceEvent > options.maxElementChars) {
        // What saxes says about the value read so far comes first, as it would had saxes read it all along.
        guarded(() => reader.end(false))
        warnings.add(`one XML value passed ${options.maxElementChars} characters; the rest of the output was not read`)
        stopped = true
      }
    },
    end: () => {
      if (!ended) {
        ended = true
        // A cut document is already known to be cut: closing would only add a complaint per open element.
        if (!stopped) guarded(() => reader.end(tree.state().rootClosed))
        tree.flush()
      }
      return { ...tree.state(), stopped, warnings: warnings.all() }
    }
  }
}

/** The first child element named `name`. */
export const child = (element: XmlElement, name: string): XmlElement | undefined => element.children.find((c) => c.name === name)

export const childrenNamed = (element: XmlElement | undefined, name: string): ReadonlyArray<XmlElement> =>
  element === undefined ? [] : element.children.filter((c) => c.name === name)

export const attr = (element: XmlElement | undefined, name: string): string | undefined => element?.attributes[name]

export const numAttr = (element: XmlElement | undefined, name: string): number | undefined => {
  const value = attr(element, name)
  if (value === undefined || value.trim() === "") return undefined
  const parsed = Number(value)
  return Number.isFinite(parsed) ? parsed : undefined
}

/** Text of the child element `name`, trimmed; undefined when there is no such child. */
export const childText = (element: XmlElement, name: string): string | undefined => {
  const found = child(element, name)
  return found === undefined ? undefined : found.text.trim()
}
