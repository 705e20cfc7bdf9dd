/**
 * A TCP forwarder on 127.0.0.1 for the resume scenario: it relays one
 * connection to a server until `after` bytes went one way, then closes
 * both sides, as a dropped link would. Later connections are relayed
 * whole.
 *
 * @module
 */

/** The forwarder; dispose it to close the listener and every relay. */
export interface CutProxy extends AsyncDisposable {
  readonly port: number;
  /** True once the cut happened. */
  readonly cut: boolean;
}

/** Options of {@linkcode startCutProxy}. */
export interface CutProxyOptions {
  readonly targetPort: number;
  /** Which way is cut: client to server ("up") or back ("down"). */
  readonly direction: "up" | "down";
  /** Bytes relayed that way before the cut. */
  readonly after: number;
}

/** Starts the forwarder; see the module comment. */
export function startCutProxy(options: CutProxyOptions): CutProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const relays = new Set<Promise<void>>();
  let cut = false;
  const close = (conns: (Deno.Conn | null)[]) => {
    for (const conn of conns) {
      if (conn !== null && open.delete(conn)) conn.close();
    }
  };
  const pipe = async (
    from: Deno.Conn,
    to: Deno.Conn,
    limit: number,
  ): Promise<void> => {
    const buffer = new Uint8Array(256 * 1024);
    let sent = 0;
    for (;;) {
      const n = await from.read(buffer.subarray(
        0,
        Math.min(
          buffer.byteLength,
          limit - sent,
        ),
      ));
      if (n === null) break;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
      sent += n;
      if (sent >= limit) {
        cut = true;
        close([from, to]);
        return;
      }
    }
    await to.closeWrite().catch(() => {});
  };
  const relay = async (client: Deno.Conn) => {
    open.add(client);
    let server: Deno.Conn | null = null;
    try {
      server = await Deno.connect({
        hostname: "127.0.0.1",
        port: options.targetPort,
      });
      open.add(server);
      const up = !cut && options.direction === "up" ? options.after : Infinity;
      const down = !cut && options.direction === "down"
        ? options.after
        : Infinity;
      await Promise.all([pipe(client, server, up), pipe(server, client, down)]);
    } catch {
      // cut, or a side hung up: both are closed below
    } finally {
      close([client, server]);
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
    get cut() {
      return cut;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      close([...open]);
      await Promise.all([...relays]);
    },
  };
}
