/**
 * A TCP forwarder on 127.0.0.1, port 0, in front of a server: it counts the
 * connections clients open and relays their bytes both ways untouched
 * (TLS passes through end to end).
 *
 * @module
 */

/** The forwarder; dispose it to close the listener and every relay. */
export interface CountingProxy extends AsyncDisposable {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
}

/** Forwards every connection to `127.0.0.1:targetPort`. */
export function startCountingProxy(targetPort: number): CountingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relays = new Set<Promise<void>>();
  const open = new Set<Deno.Conn>();
  let accepted = 0;
  const relay = async (client: Deno.Conn) => {
    open.add(client);
    let server: Deno.Conn | null = null;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      open.add(server);
      await Promise.all([
        pipe(client, server),
        pipe(server, client),
      ]);
    } catch {
      // a side hung up or was reset: the other side is closed below
    } finally {
      for (const conn of [client, server]) {
        if (conn !== null && open.delete(conn)) conn.close();
      }
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      accepted++;
      const running = relay(client);
      relays.add(running);
      void running.finally(() => relays.delete(running));
    }
  })().catch(() => {}); // the listener was closed
  return {
    port: listener.addr.port,
    get accepted() {
      return accepted;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of open) conn.close();
      open.clear();
      await Promise.all([...relays]);
    },
  };
}

/** Copies `from` into `to` until `from` ends, then ends `to`'s writing side. */
async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await from.read(buffer);
    if (n === null) break;
    let offset = 0;
    while (offset < n) offset += await to.write(buffer.subarray(offset, n));
  }
  await to.closeWrite().catch(() => {});
}
