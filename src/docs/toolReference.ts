import type { FlagSpec } from "../policy/flags.js"
import { flagValueText } from "../policy/flagText.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { code, table } from "./markdown.js"

/**
 * The tool reference, rendered from the tool specs the argument policy
 * enforces: a flag is documented exactly when a caller may pass it.
 */

const marks = (flag: FlagSpec): string =>
  [
    flag.intrusive === true ? "intrusive" : "",
    flag.intrusiveValues !== undefined && flag.intrusiveValues.length > 0
      ? `intrusive values: ${flag.intrusiveValues.map(code).join(", ")}`
      : "",
    flag.privileged === true ? "privileged" : ""
  ].filter((m) => m !== "").join("; ")

const toolSection = (tool: ToolSpec<unknown>): string => {
  const facts = [
    `Binary: ${code(tool.binary)}`,
    `target: ${tool.target.kind}`,
    `default timeout ${tool.defaultTimeoutSeconds} s`,
    `concurrency ${tool.defaultConcurrency}`,
    ...(tool.intrusive ? ["**every call is intrusive**"] : []),
    ...(tool.unprivileged !== undefined ? ["rewrites privileged flags when not root"] : []),
    ...(tool.fixedArgs.length > 0 ? [`always run with ${code(tool.fixedArgs.join(" "))}`] : [])
  ]
  const templates = tool.templates.length === 0
    ? []
    : [
      "Templates:",
      "",
      table(["Template", "Arguments", "Description"], tool.templates.map((t) => [code(t.name), code(t.args.join(" ")), t.description])),
      ""
    ]
  const flags = tool.flags.map((flag) => [
    [flag.name, ...(flag.aliases ?? [])].map(code).join(", "),
    flagValueText(flag.value, code),
    marks(flag),
    flag.description
  ])
  return [
    `### ${tool.name} — ${tool.title}`,
    "",
    tool.description,
    "",
    `${facts.join(" · ")}.`,
    "",
    ...templates,
    "Allowed flags:",
    "",
    table(["Flag", "Value", "Marks", "Description"], flags)
  ].join("\n")
}

/** The Markdown tool reference placed between the README's `tools` markers. */
export const renderToolReference = (tools: ReadonlyArray<ToolSpec<any>>): string =>
  [
    "Flags not listed are refused. **intrusive** needs `security.allow_intrusive` and a key with the `intrusive` scope; every intrusive call is audited. **privileged** needs raw sockets, which only a server running as root has; otherwise tools that say so rewrite such flags to unprivileged equivalents or drop them (an nmap SYN scan becomes a connect scan), with a note in the result.",
    "",
    tools.map(toolSection).join("\n\n")
  ].join("\n")
