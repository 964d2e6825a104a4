import { describe, expect, it } from "@effect/vitest"
import { existsSync, readFileSync } from "node:fs"
import {
  classifyScriptItem,
  intrusiveCategories,
  isIntrusiveScript,
  knownScripts,
  refusedCategories,
  safeCategories,
  scopedCategories,
  scriptArgument
} from "../../src/policy/nse.js"

const SCRIPT_DB = "/usr/share/nmap/scripts/script.db"

/** nmap's own script database, when nmap is installed: the ground truth for categories. */
const scriptDb = (): ReadonlyMap<string, ReadonlyArray<string>> => {
  const db = new Map<string, ReadonlyArray<string>>()
  for (const line of readFileSync(SCRIPT_DB, "utf8").split("\n")) {
    const m = /filename = "([^"]+)\.nse", categories = \{ (.*) \}/.exec(line)
    if (m?.[1] !== undefined) db.set(m[1], [...(m[2] ?? "").matchAll(/"(\w+)"/g)].map((c) => c[1] ?? "").sort())
  }
  return db
}

describe("NSE allow-list", () => {
  it("classifies categories and scripts", () => {
    expect(classifyScriptItem("default")).toEqual({ _tag: "Accepted", item: "default", intrusive: false })
    expect(classifyScriptItem("version")).toMatchObject({ _tag: "Accepted", intrusive: false })
    expect(classifyScriptItem("brute")).toMatchObject({ _tag: "Accepted", intrusive: true })
    expect(classifyScriptItem("http-title")).toMatchObject({ _tag: "Accepted", intrusive: false })
    expect(classifyScriptItem("ftp-anon")).toMatchObject({ _tag: "Accepted", intrusive: false })
    expect(classifyScriptItem("ssl-heartbleed")).toMatchObject({ _tag: "Accepted", intrusive: true })
    expect(classifyScriptItem("http-shellshock")).toMatchObject({ _tag: "Accepted", intrusive: true })
    expect(classifyScriptItem("safe")).toMatchObject({ _tag: "Accepted", intrusive: false })
    expect(classifyScriptItem("discovery")).toMatchObject({ _tag: "Accepted", intrusive: false })
    expect(classifyScriptItem("vuln")).toMatchObject({ _tag: "Accepted", intrusive: true })
    for (const item of ["all", "intrusive", "broadcast", "external", "dos", "malware", "no-such-script", "HTTP-TITLE", "vulners"]) {
      expect(classifyScriptItem(item)).toMatchObject({ _tag: "Refused", rule: "script_not_allowed" })
    }
    for (const item of ["/tmp/x.nse", "x.nse", "./x", "http-*", "+http-title", "and", "true", "http://x/y", "C:x", "..\\x"]) {
      expect(classifyScriptItem(item)).toMatchObject({ _tag: "Refused", rule: "forbidden_value" })
    }
  })

  it("accepted and refused categories do not overlap, and all is refused", () => {
    const accepted = [...safeCategories, ...intrusiveCategories]
    expect(accepted.filter((category) => Object.hasOwn(refusedCategories, category))).toEqual([])
    expect(Object.hasOwn(refusedCategories, "all")).toBe(true)
  })

  it("curated scripts match nmap's script database and never leave the target", { skip: !existsSync(SCRIPT_DB) }, () => {
    const db = scriptDb()
    for (const [name, categories] of Object.entries(knownScripts)) {
      expect(db.get(name), name).toEqual([...categories].sort())
      expect(categories.filter((category) => category === "broadcast" || category === "external"), name).toEqual([])
    }
  })

  it("what a scoped category selects never leaves the target", { skip: !existsSync(SCRIPT_DB) }, () => {
    const db = scriptDb()
    const reachesPast = (name: string, categories: ReadonlyArray<string>) =>
      categories.includes("broadcast") || categories.includes("external") || name === "fcrdns"
    for (const category of [...safeCategories, ...intrusiveCategories]) {
      const expression = scopedCategories[category]!.expression
      const excluded = /not \((.*)\)\)$/.exec(expression)![1]!.split(" or ")
      const selected = [...db].filter(([name, categories]) =>
        categories.includes(category) && !excluded.some((term) => term === name || categories.includes(term))
      )
      expect(selected.length, category).toBeGreaterThan(0)
      expect(selected.filter(([name, categories]) => reachesPast(name, categories)).map(([name]) => name), category).toEqual([])
      if (!intrusiveCategories.includes(category)) {
        expect(selected.filter(([, categories]) => categories.includes("dos")).map(([name]) => name), category).toEqual([])
      }
    }
  })

  it("default scripts are never intrusive, since -sC runs them anyway", () => {
    for (const [name, categories] of Object.entries(knownScripts)) {
      if (categories.includes("default")) expect(isIntrusiveScript(name), name).toBe(false)
    }
  })
})

describe("scoped categories", () => {
  it("are passed to nmap as expressions that exclude scripts reaching past the target", () => {
    expect(scriptArgument(["http-title", "ssl-cert"])).toBe("http-title,ssl-cert")
    expect(scriptArgument(["safe"])).toBe("(safe and not (broadcast or external or dos or fcrdns))")
    expect(scriptArgument(["http-title", "vuln"])).toBe("http-title or (vuln and not (broadcast or external or dos or fcrdns))")
    expect(scriptArgument(["discovery"])).toBe("(discovery and not (broadcast or external or dos or fcrdns or intrusive))")
  })
})
