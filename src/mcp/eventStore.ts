import type { EventId, EventStore, StreamId } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"

/**
 * The SSE events of one MCP HTTP session, kept so a client whose stream
 * dropped can reconnect with `Last-Event-ID` and get what it missed (the
 * SDK transport replays through this store). Bounded in memory: beyond
 * `maxBytes` (as JSON) the oldest events go, but the newest is always kept,
 * so a dropped POST stream's final result stays replayable however large it
 * is. Event ids are `<stream>_<sequence>`; an id this store never issued, or
 * one already evicted, replays nothing. One store per session, so an event
 * id can never reach another session's messages.
 */
export class MemoryEventStore implements EventStore {
  private readonly events = new Map<EventId, { readonly streamId: StreamId; readonly message: JSONRPCMessage; readonly bytes: number }>()
  private bytes = 0
  private sequence = 0

  constructor(private readonly maxBytes: number) {}

  get size(): number {
    return this.events.size
  }

  get retainedBytes(): number {
    return this.bytes
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const eventId = `${streamId}_${++this.sequence}`
    const bytes = Buffer.byteLength(JSON.stringify(message))
    this.events.set(eventId, { streamId, message, bytes })
    this.bytes += bytes
    for (const [id, event] of this.events) {
      if (this.bytes <= this.maxBytes || this.events.size === 1) break
      this.events.delete(id)
      this.bytes -= event.bytes
    }
    return eventId
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.events.get(eventId)?.streamId ?? streamOf(eventId)
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }
  ): Promise<StreamId> {
    const streamId = this.events.get(lastEventId)?.streamId ?? streamOf(lastEventId) ?? ""
    const after = sequenceOf(lastEventId)
    for (const [id, event] of this.events) {
      if (event.streamId === streamId && sequenceOf(id) > after) await send(id, event.message)
    }
    return streamId
  }
}

const streamOf = (eventId: EventId): StreamId | undefined => {
  const cut = eventId.lastIndexOf("_")
  return cut > 0 ? eventId.slice(0, cut) : undefined
}

const sequenceOf = (eventId: EventId): number => {
  const n = Number(eventId.slice(eventId.lastIndexOf("_") + 1))
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY
}
