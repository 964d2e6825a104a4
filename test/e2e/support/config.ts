import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * A config file in its own temporary directory. Writes replace the file
 * atomically (write + rename), as editors and config management do, so the
 * server's watcher never reads half a file.
 */
export interface ConfigFile {
  readonly path: string
  readonly dir: string
  readonly write: (config: unknown) => void
  readonly remove: () => void
}

export const makeConfigFile = (config: unknown): ConfigFile => {
  const dir = mkdtempSync(join(tmpdir(), "e2e-config-"))
  const path = join(dir, "config.yaml")
  let version = 0
  const write = (next: unknown) => {
    const temp = join(dir, `config.${++version}.tmp`)
    // JSON is YAML: the server parses both with one parser.
    writeFileSync(temp, JSON.stringify(next, null, 2))
    renameSync(temp, path)
  }
  write(config)
  return { path, dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
