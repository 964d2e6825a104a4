/**
 * Tools such as nmap restart their percentage at every phase (host discovery,
 * port scan, service detection, scripts), while MCP progress must only grow.
 * Phase k is mapped onto [100·(1−2^−k), 100·(1−2^−(k+1))): each phase takes
 * half of what is left, so the total approaches but never reaches 100 before
 * the result arrives. Returns `undefined` for values that would not advance.
 */
export const monotonicProgress = () => {
  let phase = 0
  let lastRaw = -1
  let lastSent = -1
  return (raw: number): { readonly value: number; readonly phase: number } | undefined => {
    if (raw < lastRaw) phase += 1
    lastRaw = raw
    const value = 100 * (1 - Math.pow(2, -phase)) + Math.min(Math.max(raw, 0), 100) * Math.pow(2, -(phase + 1))
    if (value <= lastSent) return undefined
    lastSent = value
    return { value, phase: phase + 1 }
  }
}
