/** The components the console and the MCP App share; their styles are `components.css`. */
export { DiffView, type DiffViewProps } from "./DiffView.js"
export { FilterInput, type FilterInputProps } from "./FilterInput.js"
export { Head } from "./Head.js"
export * from "./model.js"
export { PortTable, type PortTableProps } from "./PortTable.js"
