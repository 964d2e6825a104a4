import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { CappedOutput, utf8PrefixLength } from "../../src/runner/CappedOutput.js"

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
