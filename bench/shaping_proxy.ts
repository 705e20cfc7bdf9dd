/**
 * A TCP proxy on 127.0.0.1 that makes a slow link out of loopback: every
 * byte passes a shared {@linkcode LinkSchedule} per direction (the rate
 * and half the round trip each way). `tc netem` would do this in the
 * kernel; it is not available everywhere, this works as any user.
 *
 * The proxy reads ahead at most {@linkcode QUEUE_BYTES} per connection and
 * direction (the link's buffer); TCP's own acknowledgements between the
 * proxy and each end stay fast, so what the delay slows is what a protocol
 * waits for: replies, window-limited streams through the queue.
 *
 * @module
 */

import { LinkSchedule } from "./link_schedule.ts";

/** Bytes read ahead per connection and direction before reading pauses. */
export const QUEUE_BYTES = 1024 * 1024;
/** Largest piece scheduled at once, so the rate stays smooth. */
const PIECE = 16 * 1024;

/** Options of {@linkcode startShapingProxy}. */
export interface ShapingOptions {
  /** The port on 127.0.0.1 to forward to. */
  readonly targetPort: number;
  /** The link's rate in each direction, bits per second. */
  readonly bitsPerSecond: number;
  /** The round trip the link adds, ms (half each way). */
  readonly rttMs: number;
}

/** A running proxy; disposing it closes the listener and every connection. */
export interface ShapingProxy extends AsyncDisposable {
  readonly port: number;
}

/** Starts the proxy on a free port of 127.0.0.1. */
export function startShapingProxy(options: ShapingOptions): ShapingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const up = new LinkSchedule(options.bitsPerSecond, options.rttMs / 2);
  const down = new LinkSchedule(options.bitsPerSecond, options.rttMs / 2);
  const open = new Set<Deno.TcpConn>();
  const sessions = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const client of listener) {
      const session = relay(client, options.targetPort, up, down, open)
        .catch(() => {/* one broken connection ends only itself */});
      sessions.add(session);
      session.finally(() => sessions.delete(session));
    }
  })().catch(() => {/* the listener closed */});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await accepting;
      await Promise.all(sessions);
    },
  };
}

async function relay(
  client: Deno.TcpConn,
  targetPort: number,
  up: LinkSchedule,
  down: LinkSchedule,
  open: Set<Deno.TcpConn>,
): Promise<void> {
  open.add(client);
  let server: Deno.TcpConn | undefined;
  try {
    server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    open.add(server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    await Promise.all([pump(client, server, up), pump(server, client, down)]);
  } finally {
    closeQuietly(client);
    open.delete(client);
    if (server) {
      closeQuietly(server);
      open.delete(server);
    }
  }
}

/** Moves bytes from `from` to `to` on `link`'s timing; half-closes `to` at the end. */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  link: LinkSchedule,
): Promise<void> {
  const queue: { data: Uint8Array; at: number }[] = [];
  let queued = 0;
  let ended = false;
  let wakeWriter = () => {};
  let wakeReader = () => {};
  const writer = (async () => {
    while (true) {
      while (queue.length === 0 && !ended) {
        await new Promise<void>((r) => (wakeWriter = r));
      }
      const item = queue.shift();
      if (item === undefined) break;
      const wait = item.at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let rest = item.data; rest.byteLength > 0;) {
        rest = rest.subarray(await to.write(rest));
      }
      queued -= item.data.byteLength;
      wakeReader();
    }
    await to.closeWrite().catch(() => {/* the far end is gone */});
  })();
  // A writer that fails (the far end is gone) must not leave the reader
  // waiting for room in the queue: end the reading side too.
  writer.catch(() => {
    queued = 0;
    wakeReader();
    closeQuietly(from);
  });
  try {
    const buf = new Uint8Array(64 * 1024);
    while (true) {
      while (queued >= QUEUE_BYTES) {
        await new Promise<void>((r) => (wakeReader = r));
      }
      const n = await from.read(buf);
      if (n === null) break;
      for (let at = 0; at < n; at += PIECE) {
        const data = buf.slice(at, Math.min(n, at + PIECE));
        queue.push({
          data,
          at: link.deliverAt(data.byteLength, performance.now()),
        });
        queued += data.byteLength;
      }
      wakeWriter();
    }
  } finally {
    ended = true;
    wakeWriter();
  }
  await writer;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
