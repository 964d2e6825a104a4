/**
 * Server-sent event frames out of a growing text buffer: the `data:` of
 * every complete frame (comments such as `: heartbeat` carry none), and the
 * incomplete tail to prepend to the next chunk.
 */
export const parseFrames = (text: string): { readonly data: ReadonlyArray<string>; readonly rest: string } => {
  const frames = text.replace(/\r\n?/g, "\n").split("\n\n")
  const rest = frames.pop() ?? ""
  const data = frames.flatMap((frame) => {
    const lines = frame.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).replace(/^ /, ""))
    return lines.length === 0 ? [] : [lines.join("\n")]
  })
  return { data, rest }
}
