/**
 * A TCP forwarder on 127.0.0.1, port 0, in front of a server, that cuts or
 * stalls a transfer at a known point: once `after` bytes went from the
 * client to the server (from the server to the client with `direction:
 * "down"`) it stops forwarding them and either closes both sides (`cut`, a
 * dropped connection) or holds them open (`stall`, so the test can kill a
 * process while data is in flight).
 *
 * @module
 */

/** Options of {@linkcode startCuttingProxy}. */
export interface CuttingProxyOptions {
  /** Client-to-server bytes forwarded before the cut. */
  after: number;
  /** "cut": close both sides there; "stall": forward nothing more. */
  mode: "cut" | "stall";
  /**
   * Which bytes are counted and stopped: "up", client to server (an
   * upload), the default; "down", server to client (a download).
   */
  direction?: "up" | "down";
  /**
   * Cut only the first connection; later ones (a client's retry) are
   * relayed whole. Default false: every connection shares the one count.
   */
  once?: boolean;
}

/** The forwarder; dispose it to close the listener and every relay. */
export interface CuttingProxy extends AsyncDisposable {
  readonly port: number;
  /** Resolves once `after` bytes went through. */
  readonly reached: Promise<void>;
}

/** Forwards every connection to `127.0.0.1:targetPort` until the cut. */
export function startCuttingProxy(
  targetPort: number,
  options: CuttingProxyOptions,
): CuttingProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const relays = new Set<Promise<void>>();
  let forwarded = 0;
  let connections = 0;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => reach = resolve);
  const closeAll = () => {
    for (const conn of open) conn.close();
    open.clear();
  };
  const counted = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const room = options.after - forwarded;
      if (room <= 0) {
        reach();
        if (options.mode === "cut") closeAll();
        return;
      }
      const n = await from.read(buffer.subarray(0, Math.min(room, 64 * 1024)));
      if (n === null) return;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
      forwarded += n;
    }
  };
  const plain = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) return;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
    }
  };
  const relay = async (client: Deno.Conn) => {
    const limited = !options.once || connections++ === 0;
    open.add(client);
    let server: Deno.Conn | null = null;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      open.add(server);
      const down = options.direction === "down";
      const first = limited ? counted : plain;
      await Promise.all([
        down ? plain(client, server) : first(client, server),
        down ? first(server, client) : plain(server, client),
      ]);
    } catch {
      // A side hung up or was closed by the cut.
    } finally {
      // The server side ended (or the cut): the client sees it end too.
      for (const conn of [client, server]) {
        if (conn !== null && open.delete(conn)) conn.close();
      }
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      const running = relay(client);
      relays.add(running);
      void running.finally(() => relays.delete(running));
    }
  })().catch(() => {}); // the listener was closed
  return {
    port: listener.addr.port,
    reached,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      closeAll();
      await Promise.all([...relays]);
    },
  };
}
