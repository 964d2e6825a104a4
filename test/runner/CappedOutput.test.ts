import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { CappedOutput, utf8Decoder, utf8PrefixLength } from "../../src/runner/CappedOutput.js"

const encode = (text: string) => new TextEncoder().encode(text)

describe("utf8PrefixLength", () => {
  it("never ends inside a multi-byte character", () => {
    const bytes = encode("aé€😀")
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => utf8PrefixLength(bytes, n)))
      .toEqual([0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10])
  })

  it.prop("a cut prefix decodes to a prefix of the text, at most 3 bytes short", {
    text: FastCheck.string({ unit: "binary" }),
    cut: FastCheck.nat(64)
  }, ({ cut, text }) => {
    const bytes = encode(text)
    const length = utf8PrefixLength(bytes, cut)
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, length))
    expect(text.startsWith(decoded)).toBe(true)
    expect(length).toBeLessThanOrEqual(Math.min(cut, bytes.length))
    expect(Math.min(cut, bytes.length) - length).toBeLessThanOrEqual(3)
  })
})

describe("utf8Decoder", () => {
  /** Bytes that are mostly UTF-8 with damage: stray continuation bytes, cut sequences, invalid leads, BOMs. */
  const bytes = FastCheck.array(
    FastCheck.oneof(
      FastCheck.string({ unit: "binary", maxLength: 6 }).map(encode),
      FastCheck.constantFrom([0xef, 0xbb, 0xbf], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x80], [0xc0, 0xaf], [0xe0, 0x80], [0xed, 0xa0, 0x80], [
        0xf8
      ], [0xff])
        .map((b) => new Uint8Array(b))
    ),
    { maxLength: 12 }
  ).map((parts) => Buffer.concat(parts))

  it.prop("decodes any bytes cut anywhere as TextDecoder does when streaming", {
    input: bytes,
    cuts: FastCheck.array(FastCheck.nat(40), { maxLength: 6 })
  }, ({ cuts, input }) => {
    const points = [...new Set(cuts.map((c) => Math.min(c, input.length)))].sort((a, b) => a - b)
    const chunks = [...points, input.length].map((end, i) => input.subarray(i === 0 ? 0 : points[i - 1]!, end))
    const reference = new TextDecoder("utf-8")
    const expected = chunks.map((c) => reference.decode(c, { stream: true })).join("") + reference.decode()
    const decoder = utf8Decoder()
    expect(chunks.map(decoder.write).join("") + decoder.end()).toBe(expected)
  })

  it("drops a BOM only at the very start, also when it is split", () => {
    const decoder = utf8Decoder()
    const rest = Buffer.concat([new Uint8Array([0xbf]), encode("a\uFEFF")])
    expect([decoder.write(new Uint8Array([0xef, 0xbb])), decoder.write(rest), decoder.end()].join("")).toBe("a\uFEFF")
  })

  it("keeps a second BOM when the first was all the first write held", () => {
    const decoder = utf8Decoder()
    const bom = new Uint8Array([0xef, 0xbb, 0xbf])
    expect([decoder.write(bom), decoder.write(bom), decoder.end()].join("")).toBe("\uFEFF")
  })
})

describe("CappedOutput", () => {
  it("keeps everything under the cap", () => {
    const out = new CappedOutput(10)
    out.push(encode("hello "))
    out.push(encode("you"))
    expect(out.text()).toBe("hello you")
    expect(out.truncated).toBe(false)
  })

  it("keeps exactly the cap, flags truncation and keeps accepting chunks", () => {
    const out = new CappedOutput(5)
    out.push(encode("abc"))
    out.push(encode("defgh"))
    out.push(encode("ijk"))
    expect(out.text()).toBe("abcde")
    expect(out.truncated).toBe(true)
  })

  it.prop("the text is a prefix of the input within the cap, whatever the chunking", {
    pieces: FastCheck.array(FastCheck.string({ unit: "binary" }), { maxLength: 20 }),
    cap: FastCheck.nat(200)
  }, ({ cap, pieces }) => {
    const out = new CappedOutput(cap)
    for (const piece of pieces) out.push(encode(piece))
    const full = pieces.join("")
    const text = out.text()
    expect(full.startsWith(text)).toBe(true)
    expect(encode(text).length).toBeLessThanOrEqual(cap)
    expect(out.truncated).toBe(encode(full).length > cap)
    if (!out.truncated) expect(text).toBe(full)
  })
})
