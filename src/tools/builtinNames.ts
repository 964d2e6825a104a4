/**
 * The names of the tools the server ships, in builtins.ts's order (a test holds the two equal). Start-up checks
 * the configuration's custom tools against them before it answers a client, and the specs themselves — their
 * parsers, summaries and schemas — are loaded only after that, with the services that use them.
 */
export const builtinToolNames: ReadonlyArray<string> = [
  "NmapTool",
  "PingTool",
  "TracerouteTool",
  "DigTool",
  "MasscanTool",
  "HttpProbeTool",
  "TlsProbeTool"
]
