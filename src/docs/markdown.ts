/** Markdown building blocks shared by the generated references. */

/** A table cell: pipes would end the cell and newlines the row. */
export const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ")

export const code = (text: string): string => (text === "" ? "" : `\`${text.replace(/`/g, "'")}\``)

export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`)
  ].join("\n")

/** A default or example value as it would be written in JSON (and therefore in YAML). */
export const valueText = (value: unknown): string => JSON.stringify(value) ?? "undefined"
