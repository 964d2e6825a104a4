import { Effect, type Scope } from "effect"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { atExit } from "./cleanup.js"

/**
 * Shim binaries: small sh scripts put first on the server's PATH (or named by
 * absolute path in custom tools) in place of the real tools, so tests can see
 * exactly which argv the server executes and make a "tool" hang, crash or
 * flood without sending a packet. The server never runs a shell; the shim is
 * the tool.
 */

/** A temporary directory removed with the scope (and at exit). */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), `${prefix}-`))
      const forget = atExit(() => rmSync(dir, { recursive: true, force: true }))
      return { dir, forget }
    }),
    ({ dir, forget }) =>
      Effect.sync(() => {
        rmSync(dir, { recursive: true, force: true })
        forget()
      })
  ).pipe(Effect.map(({ dir }) => dir))

/** Writes an executable `#!/bin/sh` script `dir/name` and returns its path. */
export const writeShim = (dir: string, name: string, body: string): string => {
  const path = join(dir, name)
  writeFileSync(path, `#!/bin/sh\n${body}\n`)
  chmodSync(path, 0o755)
  return path
}

/**
 * Appends one line per invocation to `log`: the tool name, then every argument
 * hex-encoded (with an `x` terminator so empty arguments survive), which keeps
 * arguments with spaces, quotes or newlines exact.
 */
export const logArgvScript = (log: string, name: string): string =>
  [
    `line=${name}`,
    `for a in "$@"; do line="$line $(printf '%s' "$a" | od -An -v -tx1 | tr -d ' \\n')x"; done`,
    `printf '%s\\n' "$line" >> '${log}'`
  ].join("\n")

export interface ShimCall {
  readonly tool: string
  readonly argv: ReadonlyArray<string>
}

export const readShimLog = (log: string): ReadonlyArray<ShimCall> =>
  existsSync(log)
    ? readFileSync(log, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const [tool, ...args] = line.split(" ")
      return { tool: tool ?? "", argv: args.map((arg) => Buffer.from(arg.slice(0, -1), "hex").toString("utf8")) }
    })
    : []

/** A minimal nmap -oX report: one host up with 22/tcp open. */
export const NMAP_XML = `<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap shim" start="1700000000" version="7.93" xmloutputversion="1.05">
<host><status state="up" reason="syn-ack"/><address addr="127.0.0.1" addrtype="ipv4"/><hostnames/>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" method="table" conf="3"/></port></ports>
</host>
<runstats><finished time="1700000001" elapsed="0.01" exit="success"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>`

/**
 * Shims for every binary the built-in tools use, all logging to one file:
 * nmap prints NMAP_XML, the others a line of text. With PATH set to `dir`
 * alone, no real tool can run.
 */
export const loggingShims = (dir: string, binaries: ReadonlyArray<string>): { readonly log: string } => {
  const log = join(dir, "calls.log")
  for (const binary of binaries) {
    const output = binary === "nmap" ? `cat <<'XML'\n${NMAP_XML}\nXML` : `echo "${binary} shim"`
    writeShim(
      dir,
      binary,
      [
        logArgvScript(log, binary),
        `if [ "$1" = "--version" ] || [ "$1" = "-V" ] || [ "$1" = "-v" ]; then echo "${binary} shim 1.0"; exit 0; fi`,
        output
      ].join("\n")
    )
  }
  return { log }
}
