import { useState } from "preact/hooks"
import { api, ApiError, storeKey } from "../api.js"

/** The key is checked against the server before it is kept for this tab. */
export function Login({ onLogin }: { readonly onLogin: () => void }) {
  const [key, setKey] = useState("")
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await api.login(key.trim())
      storeKey(key.trim())
      onLogin()
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? "This key is not valid." : e instanceof Error ? e.message : String(e))
    } finally {
      setBusy(false)
    }
  }
  return (
    <main id="main" class="login">
      <h1 tabIndex={-1}>Security MCP Server console</h1>
      <form onSubmit={submit} aria-describedby="login-help">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
        />
        <button type="submit" disabled={busy || key.trim() === ""}>Sign in</button>
        <p id="login-help" class="help">
          The key stays in this tab's session storage and is sent only as a Bearer header to this server.
        </p>
        {error === undefined ? null : <p class="error" role="alert">{error}</p>}
      </form>
    </main>
  )
}
