/** The path and the query string of a request target, split without parsing a whole URL on every request. */
export const splitTarget = (target: string): { readonly path: string; readonly query: string | undefined } => {
  const mark = target.indexOf("?")
  return mark < 0 ? { path: target, query: undefined } : { path: target.slice(0, mark), query: target.slice(mark + 1) }
}

export const searchParamsOf = (target: string): URLSearchParams => new URLSearchParams(splitTarget(target).query ?? "")
