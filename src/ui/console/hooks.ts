import { useCallback, useEffect, useState } from "preact/hooks"

/** The state of one load: its value, its error, and a way to load again. */
export interface Loaded<A> {
  readonly value: A | undefined
  readonly error: Error | undefined
  readonly loading: boolean
  readonly reload: () => void
}

/** Runs `load` now and whenever `deps` change; a result that arrives after newer deps is dropped. */
export const useLoad = <A>(load: () => Promise<A>, deps: ReadonlyArray<unknown>): Loaded<A> => {
  const [state, setState] = useState<{ value?: A; error?: Error; loading: boolean }>({ loading: true })
  const [round, setRound] = useState(0)
  useEffect(() => {
    let current = true
    setState((s) => ({ ...s, loading: true }))
    load().then(
      (value) => current && setState({ value, loading: false }),
      (error: unknown) => current && setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false })
    )
    return () => {
      current = false
    }
  }, [...deps, round])
  const reload = useCallback(() => setRound((r) => r + 1), [])
  return { value: state.value, error: state.error, loading: state.loading, reload }
}

/** Calls `tick` every `ms` while mounted. */
export const useInterval = (tick: () => void, ms: number) => {
  useEffect(() => {
    const timer = setInterval(tick, ms)
    return () => clearInterval(timer)
  }, [tick, ms])
}

/**
 * A list the server pages by cursor: the cursors of the pages before this
 * one and the page. The cursors belong to `key` (the filters): other filters
 * start again at the first page, in the same render.
 */
export const usePaged = <A>(load: (page: { readonly cursor?: string }) => Promise<A>, key: string) => {
  const [state, setState] = useState<{ readonly key: string; readonly pages: ReadonlyArray<string> }>({ key, pages: [] })
  const pages = state.key === key ? state.pages : []
  const setPages = useCallback((next: ReadonlyArray<string>) => setState({ key, pages: next }), [key])
  const cursor = pages[pages.length - 1]
  const page = useLoad(() => load(cursor === undefined ? {} : { cursor }), [key, cursor])
  return { page, pages, setPages }
}

/** Runs one call to the server, keeping its error to show; `done` after a success. */
export const useAction = (done: () => void) => {
  const [error, setError] = useState<Error | undefined>()
  const [busy, setBusy] = useState(false)
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true)
    setError(undefined)
    try {
      await action()
      done()
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)))
    } finally {
      setBusy(false)
    }
  }
  return { error, busy, run }
}
