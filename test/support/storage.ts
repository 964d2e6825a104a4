import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { atExit } from "./cleanup.js"

/**
 * A private scan store for one server process the test starts: servers
 * left to the default would share `data/` under the test's working
 * directory (one SQLite file per server process is the rule). Removed when
 * the test process exits.
 */
export const privateStorageEnv = (): { readonly MCP_STORAGE_PATH: string } => {
  const dir = mkdtempSync(join(tmpdir(), "mcp-test-store-"))
  atExit(() => rmSync(dir, { recursive: true, force: true }))
  return { MCP_STORAGE_PATH: join(dir, "data") }
}
