import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { LookupAddress } from "node:dns"
import { pinnedLookup, postPinned } from "../../src/watch/pinnedPost.js"
import { SECRET, startReceiver } from "./support.js"

/**
 * A webhook POST connects to the addresses the egress check saw, never to
 * a second answer of the name's DNS server (rebinding).
 */

const ask = (addresses: ReadonlyArray<string>, options: { family?: number; all?: boolean }) =>
  new Promise<{ error: Error | null; address: string | ReadonlyArray<LookupAddress>; family?: number }>((resolve) =>
    pinnedLookup(addresses)(
      "rebound.example",
      options,
      (error, address, family) => resolve({ error, address, ...(family === undefined ? {} : { family }) })
    )
  )

describe("pinnedLookup", () => {
  it.effect("answers every host with the checked addresses, all of them or the first, of the family asked", () =>
    Effect.gen(function*() {
      const checked = ["203.0.113.7", "2001:db8::7"]
      expect(yield* Effect.promise(() => ask(checked, { all: true }))).toMatchObject({
        error: null,
        address: [{ address: "203.0.113.7", family: 4 }, { address: "2001:db8::7", family: 6 }]
      })
      expect(yield* Effect.promise(() => ask(checked, {}))).toEqual({ error: null, address: "203.0.113.7", family: 4 })
      expect(yield* Effect.promise(() => ask(checked, { family: 6 }))).toEqual({ error: null, address: "2001:db8::7", family: 6 })
      const none = yield* Effect.promise(() => ask(["203.0.113.7"], { family: 6 }))
      expect(none.error?.message).toContain("no checked address")
    }))
})

describe("postPinned", () => {
  it.scopedLive("reaches the checked address under a name that resolves nowhere, which keeps its Host header", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver()
      // .invalid never resolves (RFC 6761): the answer can only come from the pinned loopback address.
      const status = yield* Effect.promise((signal) =>
        postPinned({
          url: `http://rebound.invalid:${receiver.port}/hook`,
          addresses: ["127.0.0.1"],
          headers: { "content-type": "application/json", "x-signature-256": SECRET },
          body: JSON.stringify({ alert_id: "a" }),
          signal
        })
      )
      expect(status).toBe(200)
      expect(receiver.received[0]?.headers.host).toBe(`rebound.invalid:${receiver.port}`)
    }))
})
