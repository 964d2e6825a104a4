import { builtinTools } from "../tools/builtins.js"
import { renderConfigReference } from "./configReference.js"
import { renderExampleConfig } from "./exampleConfig.js"
import { renderToolReference } from "./toolReference.js"

/**
 * Everything generated from code into the repository: the README sections
 * between `<!-- BEGIN GENERATED: name -->` / `<!-- END GENERATED: name -->`
 * markers and `config/config.example.yaml`. Pure: the CLI (`main.ts`) does
 * the file I/O, the tests compare the committed files with these functions.
 */

export { renderConfigReference } from "./configReference.js"
export { renderExampleConfig, settingExamples } from "./exampleConfig.js"
export { renderToolReference } from "./toolReference.js"

export const README_SECTIONS = ["config", "tools"] as const
export type ReadmeSection = typeof README_SECTIONS[number]

export const beginMarker = (name: string) => `<!-- BEGIN GENERATED: ${name} -->`
export const endMarker = (name: string) => `<!-- END GENERATED: ${name} -->`

/** The generated body of each README section. */
export const renderSections = (): Readonly<Record<ReadmeSection, string>> => ({
  config: renderConfigReference(),
  tools: renderToolReference(builtinTools)
})

const block = (name: string, body: string) => `${beginMarker(name)}\n${body}\n${endMarker(name)}`

/** The text between a section's markers (without the newlines next to them), or undefined when the markers are missing or out of order. */
export const extractSection = (text: string, name: string): string | undefined => {
  const begin = text.indexOf(beginMarker(name))
  const end = text.indexOf(endMarker(name))
  if (begin < 0 || end < begin) return undefined
  return text.slice(begin + beginMarker(name).length, end).replace(/^\n/, "").replace(/\n$/, "")
}

/**
 * Replaces the body of every section in `readme`. A README without markers
 * (or none at all) gets the missing sections appended, so the first run
 * creates them and later runs only touch the text between markers.
 */
export const updateReadme = (readme: string | undefined, sections: Readonly<Record<string, string>> = renderSections()): string => {
  let text = readme ?? ""
  for (const [name, body] of Object.entries(sections)) {
    const begin = text.indexOf(beginMarker(name))
    const end = text.indexOf(endMarker(name))
    if (begin >= 0 && end > begin) {
      text = `${text.slice(0, begin)}${block(name, body)}${text.slice(end + endMarker(name).length)}`
    } else {
      text = `${text.replace(/\n*$/, "")}${text === "" ? "" : "\n\n"}${block(name, body)}\n`
    }
  }
  return text
}

/** The generated files, relative to the repository root, given the current README. */
export const generatedFiles = (readme: string | undefined): ReadonlyArray<{ readonly path: string; readonly content: string }> => [
  { path: "README.md", content: updateReadme(readme) },
  { path: "config/config.example.yaml", content: renderExampleConfig() }
]

/** The paths whose committed text differs from what the generator produces (`--check` mode of the CLI). */
export const staleFiles = (
  files: ReadonlyArray<{ readonly path: string; readonly current: string | undefined; readonly content: string }>
): ReadonlyArray<string> => files.filter((f) => f.current !== f.content).map((f) => f.path)
