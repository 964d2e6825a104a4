import { useEffect, useRef, useState } from "preact/hooks"
import { forgetKey, storedKey } from "./api.js"
import { href, parseRoute, type Route } from "./route.js"
import { Approvals } from "./views/Approvals.js"
import { Dashboard } from "./views/Dashboard.js"
import { DiffPage } from "./views/DiffPage.js"
import { History } from "./views/History.js"
import { Login } from "./views/Login.js"
import { ScanDetail } from "./views/ScanDetail.js"
import { Scans } from "./views/Scans.js"

const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash))
    addEventListener("hashchange", update)
    return () => removeEventListener("hashchange", update)
  }, [])
  return route
}

const NAV: ReadonlyArray<readonly [string, string, Route["view"]]> = [
  ["Dashboard", href.dashboard, "dashboard"],
  ["Scans", href.scans(), "scans"],
  ["Approvals", href.approvals, "approvals"]
]

function View({ route }: { readonly route: Route }) {
  switch (route.view) {
    case "dashboard":
      return <Dashboard />
    case "scans":
      return <Scans params={route.params} />
    case "scan":
      return <ScanDetail id={route.id} />
    case "diff":
      return <DiffPage from={route.from} to={route.to} />
    case "history":
      return <History target={route.target} />
    case "approvals":
      return <Approvals />
  }
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => storedKey() !== null)
  const route = useRoute()
  // A new view (not the first one: a fresh load starts at the top) takes the focus to its heading,
  // so keyboard and screen-reader users start reading there.
  const first = useRef(true)
  useEffect(() => {
    if (first.current) first.current = false
    else document.querySelector<HTMLElement>("main h1")?.focus()
  }, [route, signedIn])
  if (!signedIn) return <Login onLogin={() => setSignedIn(true)} />
  const signOut = () => {
    forgetKey()
    setSignedIn(false)
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">Security MCP Server</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([label, link, view]) => (
              <li key={view}>
                <a href={link} aria-current={route.view === view ? "page" : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={signOut}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} />
      </main>
    </>
  )
}
