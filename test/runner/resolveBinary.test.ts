import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { resolveBinary, SAFE_PATH } from "../../src/runner/resolveBinary.js"

const failure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(effect), (result) => (Either.isLeft(result) ? result.left : undefined))

describe("resolveBinary", () => {
  it.effect("finds sh and nmap on the search path as absolute paths", () =>
    Effect.gen(function*() {
      const sh = yield* resolveBinary("sh", SAFE_PATH)
      expect(sh).toMatch(/^\/.*\/sh$/)
      expect(yield* resolveBinary("nmap", SAFE_PATH)).toMatch(/^\/.*\/nmap$/)
    }))

  it.effect("takes the first match in search-path order and skips relative entries", () =>
    Effect.gen(function*() {
      expect(yield* resolveBinary("sh", ".::relative:/bin:/usr/bin")).toBe("/bin/sh")
    }))

  it.effect("checks absolute paths as they are", () =>
    Effect.gen(function*() {
      expect(yield* resolveBinary("/bin/sh", "")).toBe("/bin/sh")
      const missing = yield* failure(resolveBinary("/nonexistent/bin/tool"))
      expect(missing?._tag).toBe("SpawnFailed")
    }))

  it.effect("rejects unknown names, relative paths, directories and non-executable files", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "resolve-binary-"))
      try {
        const plain = join(dir, "not-executable")
        writeFileSync(plain, "#!/bin/sh\n")
        chmodSync(plain, 0o644)
        const exe = join(dir, "tool")
        writeFileSync(exe, "#!/bin/sh\n")
        chmodSync(exe, 0o755)

        expect(yield* resolveBinary("tool", dir)).toBe(exe)
        expect((yield* failure(resolveBinary("no-such-binary-xyz", SAFE_PATH)))?._tag).toBe("SpawnFailed")
        expect((yield* failure(resolveBinary("not-executable", dir)))?._tag).toBe("SpawnFailed")
        expect((yield* failure(resolveBinary(plain)))?._tag).toBe("SpawnFailed")
        expect((yield* failure(resolveBinary(dir)))?._tag).toBe("SpawnFailed")
        expect((yield* failure(resolveBinary("./tool", dir)))?._tag).toBe("SpawnFailed")
        expect((yield* failure(resolveBinary("", dir)))?._tag).toBe("SpawnFailed")
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))
})
