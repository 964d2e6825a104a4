import { Effect, type Scope } from "effect"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import { atExit, killGroup } from "../support/cleanup.js"
import { which } from "../support/procfs.js"

/**
 * Debian's Chromium driven by playwright-core: headless, no sandbox (root in
 * CI), nothing phoning home, a fresh profile per launch. Closing the scope
 * closes the browser, then checks no process of that profile is left (and
 * kills any that is) and deletes the profile.
 */

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run"
]

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumUnavailable = (): string | undefined =>
  which("chromium") === undefined ? "Debian's chromium is not installed (.ci/setup installs it as root)" : undefined

/** Living processes whose command line names `needle` (the profile directory). */
export const processesWith = (needle: string): ReadonlyArray<number> =>
  readdirSync("/proc").filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8")
      const state = readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1]?.[0]
      return cmdline.includes(needle) && state !== "Z" ? [Number(name)] : []
    } catch {
      return []
    }
  })

export interface Browser {
  readonly context: BrowserContext
  readonly profile: string
}

const waitGone = async (profile: string) => {
  for (let i = 0; i < 100 && processesWith(profile).length > 0; i++) await new Promise((r) => setTimeout(r, 50))
  return processesWith(profile)
}

/** Leftover processes are killed, but reported: `left` holds what was still running after close. */
export const launchChromium = (left: Array<number> = []): Effect.Effect<Browser, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const profile = mkdtempSync(join(tmpdir(), "mcp-app-chromium-"))
      const forget = atExit(() => {
        for (const pid of processesWith(profile)) killGroup(pid)
        rmSync(profile, { recursive: true, force: true })
      })
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: which("chromium")!,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport: { width: 1000, height: 700 }
      })
      return { context, profile, forget }
    }),
    ({ context, forget, profile }) =>
      Effect.promise(async () => {
        await context.close()
        const leftover = await waitGone(profile)
        left.push(...leftover)
        for (const pid of leftover) killGroup(pid)
        rmSync(profile, { recursive: true, force: true })
        forget()
      })
  )
