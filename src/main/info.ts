import packageJson from "../../package.json" with { type: "json" }

export const serverInfo = {
  name: "security-mcp-server",
  version: packageJson.version,
  serviceName: "security-mcp-server",
  serviceVersion: packageJson.version
} as const
