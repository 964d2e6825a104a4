import { render } from "preact"
import "../components/components.css"
import "./console.css"
import { App } from "./App.js"

render(<App />, document.getElementById("app")!)
