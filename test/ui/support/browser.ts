import { execFileSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { waitFor } from "../../e2e/support/processes.js"

/**
 * Debian's chromium, driven by playwright-core: the `chromium` on PATH, a
 * fresh user-data directory per run (removed at close), no network of its
 * own (no component updates, sync or background requests), and a check that
 * no chromium process of this run outlives it.
 */

export const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run"
]

/** The chromium on PATH, or undefined when there is none (`.ci/setup` installs it when root). */
export const chromiumPath = (): string | undefined => {
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}

/** Live processes whose command line names `marker` (zombies, `[chromium] <defunct>`, do not count). */
const processesWith = (marker: string): ReadonlyArray<string> =>
  execFileSync("ps", ["-eo", "stat=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(marker) && !line.trimStart().startsWith("Z"))

export interface Browser {
  readonly context: BrowserContext
  readonly page: Page
  readonly close: () => Promise<void>
}

export const launch = async (executablePath: string): Promise<Browser> => {
  const userDataDir = mkdtempSync(join(tmpdir(), "ui-test-chromium-"))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    reducedMotion: "reduce"
  })
  const page = context.pages()[0] ?? await context.newPage()
  const close = async () => {
    await context.close().catch(() => undefined)
    await waitFor("chromium to exit", () => (processesWith(userDataDir).length === 0 ? true : undefined), 10_000).catch((error: Error) => {
      throw new Error(`${error.message}; still running: ${processesWith(userDataDir).join("\n")}`)
    }).finally(() => rmSync(userDataDir, { recursive: true, force: true }))
  }
  return { context, page, close }
}

/** Test artefacts (gitignored): one screenshot per step, for a look at what the test saw. */
export const ARTIFACTS = join(import.meta.dirname, "../artifacts")

/** The README's screenshot (committed): rewritten when missing or when UPDATE_UI_SCREENSHOTS=1. */
export const README_SCREENSHOT = join(import.meta.dirname, "../screenshots/console.png")

export const screenshot = async (page: Page, name: string, options: { readonly readme?: boolean } = {}) => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = join(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  if (options.readme === true && (!existsSync(README_SCREENSHOT) || process.env["UPDATE_UI_SCREENSHOTS"] === "1")) {
    copyFileSync(path, README_SCREENSHOT)
  }
  return path
}

/** Every form control without an accessible name: a label (for/id or wrapping), aria-label or aria-labelledby. */
export const unlabelledControls = (page: Page): Promise<ReadonlyArray<string>> =>
  page.$$eval("input, select, textarea", (controls) =>
    controls
      .filter((c) => {
        const control = c as HTMLInputElement
        if (control.type === "hidden") return false
        const labelled = (control.labels?.length ?? 0) > 0 || control.getAttribute("aria-label") !== null ||
          control.getAttribute("aria-labelledby") !== null
        return !labelled
      })
      .map((c) => c.outerHTML.slice(0, 120)))

/** Presses Tab up to `max` times and returns the accessible text of each element that got the focus, with its outline. */
export const tabOrder = async (page: Page, max: number) => {
  const seen: Array<{ readonly text: string; readonly tag: string; readonly outline: string }> = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab")
    seen.push(
      await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null
        const style = el === null ? undefined : getComputedStyle(el)
        return {
          text: (el?.getAttribute("aria-label") ?? el?.textContent ?? "").trim().slice(0, 60),
          tag: el?.tagName.toLowerCase() ?? "",
          outline: style === undefined ? "" : `${style.outlineStyle} ${style.outlineWidth}`
        }
      })
    )
  }
  return seen
}
