import { createSocket, type Socket } from "node:dgram"

/**
 * A minimal authoritative DNS server on 127.0.0.1 for tests: answers A and TXT
 * queries from a fixed zone and NXDOMAIN otherwise, so dig runs for real
 * without any network beyond loopback.
 */

export interface Zone {
  readonly [name: string]: { readonly A?: ReadonlyArray<string>; readonly TXT?: ReadonlyArray<string> }
}

const readName = (msg: Buffer, offset: number): { name: string; next: number } => {
  const labels: Array<string> = []
  let i = offset
  for (let len = msg[i] ?? 0; len !== 0; len = msg[i] ?? 0) {
    labels.push(msg.subarray(i + 1, i + 1 + len).toString("ascii"))
    i += len + 1
  }
  return { name: labels.join(".").toLowerCase(), next: i + 1 }
}

const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff])
const u32 = (n: number) => Buffer.from([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])

const answer = (msg: Buffer, zone: Zone): Buffer => {
  const id = msg.readUInt16BE(0)
  const { name, next } = readName(msg, 12)
  const qtype = msg.readUInt16BE(next)
  const question = msg.subarray(12, next + 4)
  const entry = zone[name]
  const records: Array<Buffer> = []
  if (entry !== undefined && qtype === 1) {
    for (const a of entry.A ?? []) {
      records.push(Buffer.concat([u16(0xc00c), u16(1), u16(1), u32(300), u16(4), Buffer.from(a.split(".").map(Number))]))
    }
  }
  if (entry !== undefined && qtype === 16) {
    for (const t of entry.TXT ?? []) {
      const data = Buffer.concat([Buffer.from([t.length]), Buffer.from(t, "ascii")])
      records.push(Buffer.concat([u16(0xc00c), u16(16), u16(1), u32(60), u16(data.length), data]))
    }
  }
  const rcode = entry === undefined ? 3 : 0
  const flags = 0x8000 | 0x0400 | (msg.readUInt16BE(2) & 0x0100) | rcode
  return Buffer.concat([u16(id), u16(flags), u16(1), u16(records.length), u16(0), u16(0), question, ...records])
}

export const startDnsResponder = (zone: Zone): Promise<{ readonly port: number; readonly close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const socket: Socket = createSocket("udp4")
    socket.on("message", (msg, rinfo) => {
      socket.send(answer(msg, zone), rinfo.port, rinfo.address)
    })
    socket.once("error", reject)
    socket.bind(0, "127.0.0.1", () => {
      resolve({ port: socket.address().port, close: () => new Promise<void>((done) => socket.close(() => done())) })
    })
  })
