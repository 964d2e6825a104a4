import { execFile } from "node:child_process"

/**
 * Third-party MCP clients (the Inspector CLI, the conformance suite) come
 * from the npm registry through `npx`. Fetching them is not what these tests
 * test: a machine without network, a slow registry or a fetch that times out
 * makes the test skip with the reason, while a failure of the client once it
 * is here is a real failure.
 */

export interface NpxOutcome {
  /** The exit code; 1 when the process was killed (timeout) or could not start. */
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

const run = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>>, timeoutMs: number) =>
  new Promise<NpxOutcome>((resolve) => {
    execFile(
      "npx",
      [...args],
      { env: { ...env, npm_config_yes: "true" }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
          stdout,
          stderr,
          timedOut: error !== null && error.killed === true
        })
    )
  })

const lastLines = (text: string) => text.trim().split("\n").slice(-3).join(" ")

/**
 * Brings `pkg` (name@version) into npx's cache without running it; returns
 * why it could not be fetched, for `ctx.skip`, or undefined once it is there.
 */
export const fetchNpxPackage = async (
  pkg: string,
  env: Readonly<Record<string, string>>,
  timeoutMs = 60_000
): Promise<string | undefined> => {
  const fetched = await run(["-y", "-p", pkg, "--", process.execPath, "-e", ""], env, timeoutMs)
  if (fetched.timedOut) return `npx did not fetch ${pkg} within ${timeoutMs / 1000} s (slow or no network)`
  if (fetched.code !== 0) return `npx could not fetch ${pkg} (offline?): ${lastLines(fetched.stderr)}`
  return undefined
}

/** Runs a package fetched with `fetchNpxPackage`, from the cache only (no registry round trip). */
export const runNpxPackage = (
  pkg: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>>,
  timeoutMs = 55_000
): Promise<NpxOutcome> => run(["-y", pkg, ...args], { ...env, npm_config_prefer_offline: "true" }, timeoutMs)
