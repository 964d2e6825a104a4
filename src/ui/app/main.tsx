import { App, applyDocumentTheme, applyHostStyleVariables } from "@modelcontextprotocol/ext-apps"
import { render } from "preact"
import { ScanViewer } from "./ScanViewer.js"
import { type View, viewOf } from "./view.js"

/**
 * The scan viewer's browser entry (an MCP App): connects to the host over
 * postMessage (`ui/initialize`), then renders each tool result the host
 * hands it. It calls no tool and reaches no network: everything it shows
 * came in the result.
 */

const root = document.getElementById("root")!
const show = (view: View) => render(<ScanViewer view={view} />, root)

type HostContext = ReturnType<App["getHostContext"]>

const applyTheme = (context: HostContext) => {
  if (context?.theme !== undefined) applyDocumentTheme(context.theme)
  if (context?.styles?.variables !== undefined) applyHostStyleVariables(context.styles.variables)
}

show({ kind: "waiting" })
const app = new App({ name: "security-mcp-server scan viewer", version: "1.0.0" }, {}, { autoResize: true })
app.ontoolresult = (result) => show(viewOf(result))
app.ontoolcancelled = ({ reason }) => show({ kind: "error", message: `The call was cancelled${reason ? `: ${reason}` : "."}` })
app.onhostcontextchanged = applyTheme
app.connect().then(
  () => applyTheme(app.getHostContext()),
  (error: unknown) => show({ kind: "error", message: `Could not connect to the host: ${String(error)}` })
)
