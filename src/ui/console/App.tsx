import { useEffect, useRef, useState } from "preact/hooks"
import { api, forgetKey, storedKey } from "./api.js"
import { href, parseRoute, type Route } from "./route.js"
import { Approvals } from "./views/Approvals.js"
import { Audit } from "./views/Audit.js"
import { Dashboard } from "./views/Dashboard.js"
import { DiffPage } from "./views/DiffPage.js"
import { History } from "./views/History.js"
import { Login } from "./views/Login.js"
import { ScanDetail } from "./views/ScanDetail.js"
import { Scans } from "./views/Scans.js"
import { Schedules } from "./views/Schedules.js"

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
  ["Approvals", href.approvals, "approvals"],
  ["Schedules", href.schedules, "schedules"]
]

/** Views for the admin scope only: not in the menu of other keys (the server refuses them the data anyway). */
const ADMIN_NAV: ReadonlyArray<readonly [string, string, Route["view"]]> = [["Audit", href.audit(), "audit"]]

/** Whether the signed-in key has the admin scope; undefined until known. */
const useAdmin = (signedIn: boolean) => {
  const [admin, setAdmin] = useState<boolean | undefined>()
  useEffect(() => {
    setAdmin(undefined)
    if (signedIn) api.isAdmin().then(setAdmin, () => setAdmin(false))
  }, [signedIn])
  return admin
}

function View({ admin, route }: { readonly route: Route; readonly admin: boolean | undefined }) {
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
      return <Approvals id={route.id} />
    case "schedules":
      return <Schedules selected={route.id} admin={admin === true} />
    case "audit":
      return admin === true
        ? <Audit params={route.params} />
        : <h1 tabIndex={-1}>{admin === undefined ? "Audit log" : "The audit log needs a key with the admin scope"}</h1>
  }
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => storedKey() !== null)
  const route = useRoute()
  const admin = useAdmin(signedIn)
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
            {[...NAV, ...(admin === true ? ADMIN_NAV : [])].map(([label, link, view]) => (
              <li key={view}>
                <a href={link} aria-current={route.view === view ? "page" : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary" onClick={signOut}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <View route={route} admin={admin} />
      </main>
    </>
  )
}
