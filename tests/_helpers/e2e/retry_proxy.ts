/**
 * A TCP forwarder on 127.0.0.1, port 0, in front of a server, that can cut
 * a connection once in the middle of a transfer: after a given number of
 * bytes in one direction it relays no more, runs the test's hook (kill or
 * stop the server), then closes both sides. It counts the bytes it relays
 * each way, over all connections, so a test can tell what was sent twice.
 * The server behind it can change (a restarted server on another port).
 *
 * @module
 */

/** Which way bytes flow: client to server ("up") or back ("down"). */
export type Direction = "up" | "down";

/** A cut armed with {@linkcode RetryProxy.cutOnce}. */
export interface CutOptions {
  readonly direction: Direction;
  /** Bytes of one connection relayed in `direction` before the cut. */
  readonly after: number;
  /** Runs after the last byte was relayed, before both sides close. */
  readonly onCut?: () => Promise<void> | void;
}

/** The forwarder; dispose it to close the listener and every relay. */
export interface RetryProxy extends AsyncDisposable {
  readonly port: number;
  /** The server's port; connections made later go to the new one. */
  targetPort: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Bytes relayed in each direction, over all connections. */
  readonly relayed: Readonly<Record<Direction, number>>;
  /** Cuts the first connection that reaches `options.after` bytes. */
  cutOnce(options: CutOptions): Promise<void>;
}

interface Armed extends CutOptions {
  readonly done: PromiseWithResolvers<void>;
}

/** Starts a forwarder to `127.0.0.1:targetPort`. */
export function startRetryProxy(targetPort: number): RetryProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const relays = new Set<Promise<void>>();
  const open = new Set<Deno.Conn>();
  const relayed = { up: 0, down: 0 };
  let accepted = 0;
  let armed: Armed | null = null;
  const proxy = {
    port: listener.addr.port,
    targetPort,
    get accepted() {
      return accepted;
    },
    relayed,
    cutOnce(options: CutOptions): Promise<void> {
      armed = { ...options, done: Promise.withResolvers<void>() };
      return armed.done.promise;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of open) conn.close();
      open.clear();
      await Promise.all([...relays]);
    },
  };
  const closeBoth = (a: Deno.Conn, b: Deno.Conn | null) => {
    for (const conn of [a, b]) {
      if (conn !== null && open.delete(conn)) conn.close();
    }
  };
  /** Copies `from` into `to`; resolves when `from` ends or the cut happens. */
  const pipe = async (
    from: Deno.Conn,
    to: Deno.Conn,
    direction: Direction,
    cut: () => Promise<void>,
  ) => {
    const buffer = new Uint8Array(64 * 1024);
    let sent = 0;
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      let end = n;
      const cutting = armed !== null && armed.direction === direction &&
          sent + n >= armed.after
        ? armed
        : null;
      if (cutting) {
        armed = null;
        end = cutting.after - sent;
      }
      let offset = 0;
      while (offset < end) {
        offset += await to.write(buffer.subarray(offset, end));
      }
      sent += end;
      relayed[direction] += end;
      if (cutting) {
        try {
          await cutting.onCut?.();
          await cut();
          cutting.done.resolve();
        } catch (error) {
          cutting.done.reject(error);
        }
        return;
      }
    }
    await to.closeWrite().catch(() => {});
  };
  const relay = async (client: Deno.Conn) => {
    open.add(client);
    let server: Deno.Conn | null = null;
    const cut = () => {
      closeBoth(client, server);
      return Promise.resolve();
    };
    try {
      server = await Deno.connect({
        hostname: "127.0.0.1",
        port: proxy.targetPort,
      });
      open.add(server);
      await Promise.all([
        pipe(client, server, "up", cut),
        pipe(server, client, "down", cut),
      ]);
    } catch {
      // a side hung up, was reset or cut: the other side is closed below
    } finally {
      closeBoth(client, server);
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
  return proxy;
}
