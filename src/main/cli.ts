import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Either } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { loadOnce } from "../config/ConfigLive.js"
import type { ConfigSource } from "../config/ConfigLive.js"
import { BootstrapLogger } from "../observability/Logger.js"
import { customToolSpecs } from "../tools/custom.js"
import { customOptions } from "./customOptions.js"
import { httpProgram } from "./http.js"
import { serverInfo } from "./info.js"
import { runMain } from "./run.js"
import { stdioProgram } from "./stdio.js"

const usage = `${serverInfo.name} ${serverInfo.version}

Usage:
  ${serverInfo.name} serve [--transport stdio|http] [--config FILE] [--host HOST] [--port PORT] [--engagement NAME]
  ${serverInfo.name} validate [--config FILE]
  ${serverInfo.name} hash-key [KEY]     print the sha256 to put in auth.api_keys (a new random key if none given)
  ${serverInfo.name} --version | --help

Configuration: defaults < config file (--config or MCP_CONFIG_FILE) < environment < command-line options.
--engagement NAME: the engagement a stdio operator acts in (server.stdio_engagement).
Logs go to stderr (never stdout). See README.md for every setting.
`

interface Parsed {
  readonly command: string
  readonly options: Readonly<Record<string, string>>
  readonly rest: ReadonlyArray<string>
}

const optionNames = new Set(["--transport", "--config", "--host", "--port", "--engagement"])

const parseArgs = (argv: ReadonlyArray<string>): Either.Either<Parsed, string> => {
  // `serve --help`, `validate -h` …: help wins wherever it is asked for
  if (argv.includes("--help") || argv.includes("-h")) return Either.right({ command: "help", options: {}, rest: [] })
  const [command = "serve", ...tail] = argv
  const options: Record<string, string> = {}
  const rest: Array<string> = []
  for (let i = 0; i < tail.length; i++) {
    const arg = tail[i]!
    const [name, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined]
    if (optionNames.has(name)) {
      const value = inline ?? tail[++i]
      if (value === undefined) return Either.left(`${name} needs a value`)
      options[name] = value
    } else if (name.startsWith("--")) {
      return Either.left(`unknown option ${name}`)
    } else {
      rest.push(arg)
    }
  }
  return Either.right({ command, options, rest })
}

const sourceOf = (options: Readonly<Record<string, string>>): ConfigSource => {
  const env: Record<string, string | undefined> = { ...process.env }
  if (options["--transport"] !== undefined) env["MCP_SERVER_TRANSPORT"] = options["--transport"]
  if (options["--host"] !== undefined) env["MCP_SERVER_HOST"] = options["--host"]
  if (options["--port"] !== undefined) env["MCP_SERVER_PORT"] = options["--port"]
  if (options["--engagement"] !== undefined) env["MCP_SERVER_STDIO_ENGAGEMENT"] = options["--engagement"]
  return { file: options["--config"] ?? (process.env["MCP_CONFIG_FILE"] || undefined), env }
}

const serve = (source: ConfigSource) =>
  Effect.gen(function*() {
    const loaded = yield* loadOnce(source)
    const { config } = loaded
    const custom = yield* Either.match(customToolSpecs(config.custom_tools, customOptions(config)), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    yield* config.server.transport === "http" ? httpProgram(source, loaded, custom) : stdioProgram(source, loaded, custom)
  })

const main = (argv: ReadonlyArray<string>) => {
  const parsed = parseArgs(argv)
  if (Either.isLeft(parsed)) {
    process.stderr.write(`${parsed.left}\n\n${usage}`)
    process.exit(2)
  }
  const { command, options, rest } = parsed.right
  switch (command) {
    case "--help":
    case "-h":
    case "help":
      process.stdout.write(usage)
      return
    case "--version":
    case "-v":
      process.stdout.write(`${serverInfo.version}\n`)
      return
    case "hash-key": {
      const key = rest[0] ?? randomBytes(32).toString("base64url")
      if (rest[0] === undefined) process.stdout.write(`key:    ${key}\n`)
      process.stdout.write(`sha256: ${createHash("sha256").update(key, "utf8").digest("hex")}\n`)
      return
    }
    case "validate":
      // Loaded when asked for: it reaches every service's module, which `serve` builds only once it has read its config.
      Effect.runPromise(
        Effect.promise(() => import("./validate.js")).pipe(
          Effect.flatMap(({ validate }) => validate(sourceOf(options))),
          Effect.provide(BootstrapLogger),
          Effect.provide(NodeFileSystem.layer)
        )
      ).then(
        (ok) => process.exit(ok ? 0 : 1),
        (error) => {
          process.stderr.write(`validate: ${String(error)}\n`)
          process.exit(1)
        }
      )
      return
    case "serve":
      runMain(serve(sourceOf(options)).pipe(Effect.provide(BootstrapLogger), Effect.provide(NodeFileSystem.layer)))
      return
    default:
      process.stderr.write(`unknown command ${command}\n\n${usage}`)
      process.exit(2)
  }
}

main(process.argv.slice(2))
