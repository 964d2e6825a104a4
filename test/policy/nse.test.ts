import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import {
  classifyScriptItem,
  intrusiveCategories,
  intrusiveScriptCategories,
  isIntrusiveScript,
  knownScripts,
  refusedCategories,
  safeCategories,
  scopedCategories,
  scriptArgument
} from "../../src/policy/nse.js"
import { nmapSpec } from "../../src/tools/nmap/spec.js"

const SCRIPT_DB = "/usr/share/nmap/scripts/script.db"
const haveNmap = existsSync(SCRIPT_DB) && existsSync("/usr/bin/nmap")

/** nmap's own script database, when nmap is installed: the ground truth for categories. */
const scriptDb = (): ReadonlyMap<string, ReadonlyArray<string>> => {
  const db = new Map<string, ReadonlyArray<string>>()
  for (const line of readFileSync(SCRIPT_DB, "utf8").split("\n")) {
    const m = /filename = "([^"]+)\.nse", categories = \{ (.*) \}/.exec(line)
    if (m?.[1] !== undefined) db.set(m[1], [...(m[2] ?? "").matchAll(/"(\w+)"/g)].map((c) => c[1] ?? "").sort())
  }
  return db
}

/** The scripts a `--script` value selects, as the installed nmap reports them (`--script-help` scans nothing). */
const selectedBy = (expression: string): ReadonlyArray<string> => {
  const out = execFileSync("nmap", ["-n", "--script-help", expression], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  const lines = out.split("\n")
  return lines.flatMap((line, i) => (lines[i + 1]?.startsWith("Categories: ") === true ? [line.trim()] : []))
}

/** The `--script` value the server builds for validated arguments. */
const serverBuilt = (args: ReadonlyArray<string>): string => {
  const expanded = nmapSpec.expand!(args)
  return expanded[expanded.indexOf("--script") + 1]!
}

const reachesPast = (name: string, categories: ReadonlyArray<string>) =>
  categories.includes("broadcast") || categories.includes("external") || name === "fcrdns"

const gated = (categories: ReadonlyArray<string>) => categories.filter((c) => intrusiveScriptCategories.includes(c))

describe("NSE allow-list", () => {
  it("classifies categories and scripts", () => {
    expect(classifyScriptItem("default")).toEqual({ _tag: "Accepted", item: "default", intrusive: false })
    expect(classifyScriptItem("version")).toMatchObject({ _tag: "Accepted", intrusive: false })
    expect(classifyScriptItem("brute")).toMatchObject({ _tag: "Accepted", intrusive: true })
    expect(classifyScriptItem("http-title")).toMatchObject({ _tag: "Accepted", intrusive: false })
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

  it("item 1: a script filed under a tame and a gated category is intrusive (ftp-anon is default auth safe)", () => {
    expect(classifyScriptItem("ftp-anon")).toMatchObject({ _tag: "Accepted", intrusive: true })
    expect(classifyScriptItem("ssl-poodle")).toMatchObject({ _tag: "Accepted", intrusive: true })
    for (const [name, categories] of knownScripts) {
      expect(isIntrusiveScript(name), name).toBe(gated(categories).length > 0)
    }
  })

  it("item 6: names on Object.prototype are neither scripts nor categories", () => {
    for (const item of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf", "__defineGetter__"]) {
      expect(classifyScriptItem(item), item).toMatchObject({ _tag: "Refused", rule: "script_not_allowed" })
      expect(isIntrusiveScript(item), item).toBe(false)
      expect(scriptArgument([item]), item).toBe(item)
    }
  })

  it("accepted and refused categories do not overlap, and all is refused", () => {
    const accepted = [...safeCategories, ...intrusiveCategories]
    expect(accepted.filter((category) => refusedCategories.has(category))).toEqual([])
    expect(refusedCategories.has("all")).toBe(true)
  })

  it("curated scripts match nmap's script database and never leave the target", { skip: !existsSync(SCRIPT_DB) }, () => {
    const db = scriptDb()
    for (const [name, categories] of knownScripts) {
      expect(db.get(name), name).toEqual([...categories].sort())
      expect(categories.filter((category) => category === "broadcast" || category === "external"), name).toEqual([])
    }
  })

  it("what a scoped category selects never leaves the target, by script.db", { skip: !existsSync(SCRIPT_DB) }, () => {
    const db = scriptDb()
    for (const category of [...safeCategories, ...intrusiveCategories]) {
      const { excluded } = scopedCategories.get(category)!
      const selected = [...db].filter(([name, categories]) =>
        categories.includes(category) && !excluded.some((term) => term === name || categories.includes(term))
      )
      expect(selected.length, category).toBeGreaterThan(0)
      expect(selected.filter(([name, categories]) => reachesPast(name, categories)).map(([name]) => name), category).toEqual([])
      if (!intrusiveCategories.includes(category)) {
        expect(selected.filter(([, categories]) => gated(categories).length > 0).map(([name]) => name), category).toEqual([])
      }
    }
  })
})

describe("item 1: server-built expressions on the installed nmap", () => {
  const tame: ReadonlyArray<[string, ReadonlyArray<string>]> = [
    ["-sC", ["-sC"]],
    ["-A", ["-A"]],
    ...safeCategories.map((c): [string, ReadonlyArray<string>] => [`--script ${c}`, ["--script", c]]),
    ["--script safe,discovery,version,default", ["--script", "safe,discovery,version,default"]],
    ["-sC --script http-title,safe", ["-sC", "--script", "http-title,safe"]]
  ]

  it(
    "no tame expression selects a script with a gated category or one that leaves the target",
    { skip: !haveNmap, timeout: 60_000 },
    () => {
      const db = scriptDb()
      for (const [label, args] of tame) {
        const selected = selectedBy(serverBuilt(args))
        expect(selected.length, label).toBeGreaterThan(10)
        const bad = selected.filter((name) => {
          const categories = db.get(name) ?? ["unknown"]
          return gated(categories).length > 0 || reachesPast(name, categories) || categories.includes("unknown")
        })
        // Named curated scripts are judged on their own (http-title is tame).
        expect(bad, label).toEqual([])
      }
    }
  )

  it("gated categories never select broadcast, external, dos or fcrdns scripts", { skip: !haveNmap, timeout: 60_000 }, () => {
    const db = scriptDb()
    for (const category of intrusiveCategories) {
      const selected = selectedBy(serverBuilt(["--script", category]))
      expect(selected.length, category).toBeGreaterThan(0)
      const bad = selected.filter((name) => reachesPast(name, db.get(name) ?? []) || (db.get(name) ?? []).includes("dos"))
      expect(bad, category).toEqual([])
    }
  })

  it("-sV's own version scripts: the only one with a gated category is wdb-version (UDP 17185 only)", { skip: !haveNmap }, () => {
    // nmap adds the whole version category to every -sV scan by itself, outside any --script expression.
    const db = scriptDb()
    const versionGated = [...db].filter(([, c]) => c.includes("version") && gated(c).length > 0).map(([name]) => name)
    expect(versionGated).toEqual(["wdb-version"])
  })
})

describe("scoped categories", () => {
  it("are passed to nmap as expressions that exclude gated scripts and scripts reaching past the target", () => {
    const tameExcludes = "broadcast or external or dos or fcrdns or vuln or exploit or intrusive or brute or malware or fuzzer or auth"
    expect(scriptArgument(["http-title", "ssl-cert"])).toBe("http-title,ssl-cert")
    expect(scriptArgument(["safe"])).toBe(`(safe and not (${tameExcludes}))`)
    expect(scriptArgument(["http-title", "vuln"])).toBe("http-title or (vuln and not (broadcast or external or dos or fcrdns))")
    expect(scriptArgument(["discovery"])).toBe(`(discovery and not (${tameExcludes}))`)
  })
})
