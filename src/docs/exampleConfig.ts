import { stringify } from "yaml"
import { configSections, type SettingDoc } from "./configReference.js"

/**
 * `config/config.example.yaml`: every setting at its default, with its
 * description, environment variable and range as comments, and commented
 * examples for the list and map settings whose default is empty. The
 * examples are data here so a test can prove they load.
 */

export interface SettingExample {
  readonly value: unknown
  readonly note?: string
}

/** Example values for settings whose defaults are empty; each loads as part of a config file. */
export const settingExamples: Readonly<Record<string, SettingExample>> = {
  "auth.api_keys": {
    // The hashes are of no key anyone holds, so uncommenting the example cannot open the server.
    note: "put the sha256 that `security-mcp-server hash-key` prints; the key itself is never stored",
    value: [
      {
        id: "ci-scanner",
        sha256: "4c0d2e4bb1f5d0b0f0ae6e6a1a4e3ed8ad0f2ae8a43c7bd6b52a5c3d8bb4d2f1",
        scopes: ["execute"],
        allowed_targets: ["10.20.0.0/16"]
      },
      { id: "admin", sha256: "9d1f3c8b2a7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c", scopes: ["execute", "intrusive", "admin"] }
    ]
  },
  engagements: {
    note: "API keys name the engagements they act in (auth.api_keys[].engagements); see README, Engagements and approvals",
    value: [
      {
        name: "acme-q3-internal",
        description: "ACME internal network test, Q3",
        targets: ["10.20.0.0/16", "*.acme.lab.internal"],
        exclude: ["10.20.5.0/24", "payroll.acme.lab.internal"],
        windows: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", end: "18:00" }],
        from: "2025-07-01",
        until: "2025-09-30",
        tiers: ["passive", "safe", "intrusive"],
        max_rate: { calls_per_minute: 20, packets_per_second: 500 },
        approval: "intrusive"
      }
    ]
  },
  "server.allowed_hosts": {
    value: ["mcp.example.internal", "mcp.example.internal:443"],
    note: "the names clients use behind a reverse proxy"
  },
  "server.allowed_origins": { value: ["https://agent.example.internal"] },
  tools: { value: { NmapTool: { timeout: 900, concurrency: 1 }, MasscanTool: { enabled: false } } },
  custom_tools: {
    note: "the validated target is appended as the last argument; shells and interpreters are refused as binaries",
    value: [
      {
        name: "NbtscanTool",
        description: "NetBIOS name scan of a host or network (nbtscan)",
        binary: "nbtscan",
        flags: [
          { name: "-v", description: "Verbose: list every name the host announces" },
          { name: "-t", description: "Milliseconds to wait for each answer", value: { type: "int", min: 100, max: 5000 } }
        ],
        timeout: 120,
        concurrency: 1
      }
    ]
  }
}

const HEADER = [
  "# Security MCP Server configuration: every setting at its default.",
  "# Generated from src/config/schema.ts by `npm run docs`; edit the schema, not this file.",
  "#",
  "# Copy it, keep only what you change, and start the server with",
  "#   security-mcp-server serve --config /path/to/config.yaml   (or MCP_CONFIG_FILE=/path/to/config.yaml)",
  "# Precedence: defaults < this file < environment variables (named below) < command-line options.",
  "# Out-of-range numbers are clamped, with a warning; unknown keys are an error.",
  "# `security-mcp-server validate --config FILE` checks a file without starting the server."
]

const scalar = (value: unknown): string => stringify(value, { collectionStyle: "flow", flowCollectionPadding: false }).trimEnd()

const commented = (text: string, indent: string): ReadonlyArray<string> =>
  text.trimEnd().split("\n").map((line) => `${indent}#${line === "" ? "" : ` ${line}`}`)

const settingLines = (setting: SettingDoc, key: string, indent: string): ReadonlyArray<string> => {
  const facts = [
    setting.environment.length > 0 ? `env ${setting.environment.join(", ")}` : "",
    setting.type,
    setting.range === undefined ? "" : `range ${setting.range.minimum} to ${setting.range.maximum}`
  ].filter((f) => f !== "")
  const example = settingExamples[setting.path]
  return [
    ...(setting.description === "" ? [] : commented(setting.description, indent)),
    `${indent}# ${facts.join(" · ")}`,
    ...(example === undefined
      ? []
      : [
        `${indent}# Example${example.note === undefined ? "" : ` (${example.note})`}:`,
        ...commented(stringify({ [key]: example.value }), indent)
      ]),
    `${indent}${key}: ${scalar(setting.defaultValue)}`
  ]
}

/** The text of `config/config.example.yaml`. */
export const renderExampleConfig = (): string => {
  const lines: Array<string> = [...HEADER]
  for (const section of configSections()) {
    const name = section.name
    if (name === undefined) {
      for (const setting of section.settings) lines.push("", ...settingLines(setting, setting.path, ""))
      continue
    }
    lines.push("", `${name}:`)
    section.settings.forEach((setting, i) => {
      if (i > 0) lines.push("")
      lines.push(...settingLines(setting, setting.path.slice(name.length + 1), "  "))
    })
  }
  return `${lines.join("\n")}\n`
}
