import { HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { NotFound } from "./errors.js"

/**
 * The console's files as the build wrote them (`dist/ui`, shipped in the
 * package), read once. They are found next to the running bundle
 * (`dist/main.cjs`, so `__dirname` is `dist`) or, when the server runs from
 * source (tests), in the checkout's `dist/ui`.
 */

export interface ConsoleFile {
  readonly body: string
  readonly contentType: string
  readonly etag: string
}

export const CONSOLE_FILES = {
  page: { file: "index.html", contentType: "text/html; charset=utf-8" },
  script: { file: "console.js", contentType: "text/javascript; charset=utf-8" },
  style: { file: "console.css", contentType: "text/css; charset=utf-8" }
} as const
export type ConsoleFileName = keyof typeof CONSOLE_FILES

/**
 * The page runs only our own bundled script and styles, talks only to this
 * origin, cannot be framed, and leaks no URL to other sites.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  // Revalidated on every load (cheap: 304 by ETag), so a new build is never served stale.
  "cache-control": "no-cache"
}

const directories = (): ReadonlyArray<string> =>
  typeof __dirname === "string" ? [join(__dirname, "ui"), join(__dirname, "../../dist/ui")] : []

const readFirst = (name: string): string | undefined => {
  for (const directory of directories()) {
    try {
      return readFileSync(join(directory, name), "utf8")
    } catch {
      // not in this directory
    }
  }
  return undefined
}

/** The three files, or none when the console was not built. */
export const loadConsole = (): Option.Option<Readonly<Record<ConsoleFileName, ConsoleFile>>> => {
  const entries = Object.entries(CONSOLE_FILES).map(([name, { contentType, file }]) => {
    const body = readFirst(file)
    if (body === undefined) return undefined
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
    return [name, { body, contentType, etag }] as const
  })
  if (entries.some((entry) => entry === undefined)) return Option.none()
  return Option.some(Object.fromEntries(entries as ReadonlyArray<readonly [string, ConsoleFile]>) as Record<ConsoleFileName, ConsoleFile>)
}

const notBuilt = new NotFound({ message: "The console is not built into this installation: run npm run build" })

/** The response for one file: 304 when the client holds this version, the file with its headers otherwise. */
export const serveConsoleFile = (
  files: Option.Option<Readonly<Record<ConsoleFileName, ConsoleFile>>>,
  name: ConsoleFileName,
  ifNoneMatch: string | undefined
): Effect.Effect<HttpServerResponse.HttpServerResponse, NotFound> => {
  if (Option.isNone(files)) return Effect.fail(notBuilt)
  const file = files.value[name]
  const headers = { ...CONSOLE_HEADERS, etag: file.etag }
  if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim() === file.etag)) {
    return Effect.succeed(HttpServerResponse.empty({ status: 304, headers }))
  }
  return Effect.succeed(HttpServerResponse.text(file.body, { contentType: file.contentType, headers }))
}
