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
