import { Effect, Either } from "effect"
import { type ConfigSource, loadOnce } from "../config/ConfigLive.js"
import { checkBindSafety } from "../http/auth.js"
import { findWrappers, fixFor, missingProtections, protectionReport, type ResourceLimitsMode } from "../runner/protections.js"
import { resolveBinary } from "../runner/resolveBinary.js"
import { builtinTools } from "../tools/builtins.js"
import { customToolSpecs, vetCustomBinary } from "../tools/custom.js"
import { isRoot } from "./core.js"
import { customOptions } from "./customOptions.js"

type Verdict = "PASS" | "WARN" | "FAIL"

/**
 * What tool processes get on this host. A missing wrapper fails validation
 * when limits are enforced (every tool call would fail) and warns when they
 * are best effort (calls run, and each result says what did not hold).
 */
const protectionLines = (mode: ResourceLimitsMode) =>
  Effect.map(findWrappers(), (wrappers): ReadonlyArray<[Verdict, string]> => {
    const missing = missingProtections(wrappers)
    const lines = protectionReport(wrappers).map((line): [Verdict, string] => [
      line.held ? "PASS" : mode === "enforce" ? "FAIL" : "WARN",
      line.text
    ])
    if (missing.length === 0) return lines
    const consequence = mode === "enforce"
      ? "security.resource_limits is enforce: every tool call fails with ResourceLimitsUnavailable"
      : "security.resource_limits is best_effort: tools run without them and each result says so"
    return [...lines, [mode === "enforce" ? "FAIL" : "WARN", `${consequence}. Fix: ${fixFor(missing, mode)}`]]
  })

/**
 * The launcher's `validate`: checks what the server needs before it starts
 * and prints one line per check. Exits non-zero when any check fails.
 */
export const validate = (source: ConfigSource) =>
  Effect.gen(function*() {
    const lines: Array<[Verdict, string]> = []
    const add = (verdict: Verdict, text: string) => Effect.sync(() => lines.push([verdict, text]))

    const major = Number(process.versions.node.split(".")[0])
    yield* add(major >= 20 ? "PASS" : "FAIL", `Node ${process.versions.node} (need >= 20)`)

    const config = yield* loadOnce(source).pipe(Effect.map((loaded) => loaded.config), Effect.either)
    if (Either.isLeft(config)) {
      yield* add("FAIL", `configuration: ${config.left.message}`)
      for (const issue of config.left.issues) yield* add("FAIL", `  ${issue}`)
    } else {
      const c = config.right
      yield* add(
        "PASS",
        `configuration ${source.file ?? "(embedded defaults)"}: transport ${c.server.transport}, allowed targets ${
          c.security.allowed_targets.join(", ")
        }`
      )
      const custom = customToolSpecs(c.custom_tools, customOptions(c))
      if (Either.isLeft(custom)) { for (const issue of custom.left.issues) yield* add("FAIL", `custom tool ${issue}`) }
      for (const tool of c.custom_tools) {
        const vetted = yield* vetCustomBinary(tool.binary, undefined, tool.trusted_script).pipe(Effect.either)
        yield* add(
          Either.isRight(vetted) ? "PASS" : "FAIL",
          Either.isRight(vetted) ? `custom tool ${tool.name}: ${vetted.right}` : `custom tool ${tool.name}: ${vetted.left.message}`
        )
      }
      if (c.server.transport === "http") {
        const safety = checkBindSafety(c)
        yield* add(
          Either.isLeft(safety) ? "FAIL" : "PASS",
          Either.isLeft(safety) ? safety.left.message : `HTTP bind ${c.server.host}:${c.server.port}`
        )
      }
      if (c.security.allow_intrusive) yield* add("WARN", "security.allow_intrusive is true: intrusive scans are allowed")
    }

    const mode: ResourceLimitsMode = Either.isRight(config) ? config.right.security.resource_limits : "enforce"
    for (const line of yield* protectionLines(mode)) yield* add(line[0], line[1])

    for (const tool of builtinTools) {
      const path = yield* resolveBinary(tool.binary).pipe(Effect.either)
      const flagship = tool.name === "NmapTool"
      yield* add(
        Either.isRight(path) ? "PASS" : flagship ? "FAIL" : "WARN",
        Either.isRight(path) ? `${tool.name}: ${path.right}` : `${tool.name}: ${tool.binary} not found; the tool will be unavailable`
      )
    }
    const root = isRoot()
    yield* add(
      root ? "WARN" : "PASS",
      root
        ? "running as root: prefer a dedicated user (raw-socket scans can use capabilities instead)"
        : "not running as root: SYN/OS scans fall back to connect scans"
    )

    for (const [verdict, text] of lines) process.stdout.write(`[${verdict}] ${text}\n`)
    const failed = lines.filter(([v]) => v === "FAIL").length
    process.stdout.write(failed === 0 ? "Validation passed: the server is ready to start.\n" : `Validation failed: ${failed} problem(s).\n`)
    return failed === 0
  })
