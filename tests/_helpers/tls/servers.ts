/**
 * Small servers on 127.0.0.1, port 0, for the TLS tests: a TLS echo server
 * presenting any certificate, a TCP server that never answers, and a plain
 * TCP server that hangs up on whatever it receives (like fts `--no-tls`).
 *
 * @module
 */

/** A test server; dispose it to close the listener and every connection. */
export interface TestServer extends AsyncDisposable {
  readonly port: number;
  /** Connections whose TLS handshake (or first read) failed on the server side. */
  readonly failures: unknown[];
  /** Connections that completed a handshake, with the ALPN protocol agreed. */
  readonly handshakes: (string | null)[];
}

/** Echoes every byte back over TLS, presenting `cert`/`key`. */
export function startTlsEcho(
  identity: { certPem: string; keyPem: string },
  options: { alpnProtocols?: string[] } = {},
): TestServer {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: identity.certPem,
    key: identity.keyPem,
    alpnProtocols: options.alpnProtocols ?? ["fts/1"],
  });
  const failures: unknown[] = [];
  const handshakes: (string | null)[] = [];
  return serve(listener, failures, handshakes, async (conn) => {
    const info = await (conn as Deno.TlsConn).handshake();
    handshakes.push(info.alpnProtocol);
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      let offset = 0;
      while (offset < n) {
        offset += await conn.write(buffer.subarray(offset, n));
      }
    }
  });
}

/** Accepts TCP connections and never sends a byte (until disposed). */
export function startSilentServer(): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return serve(listener, [], [], async (conn) => {
    while (await conn.read(new Uint8Array(1024)) !== null) {
      // swallow everything
    }
  });
}

/**
 * Reads once, sends `reply` (nothing by default) and hangs up, as a
 * plain-TCP fts server does with bytes that are not a frame.
 */
export function startPlainHangUp(
  reply: Uint8Array = new Uint8Array(0),
): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return serve(listener, [], [], async (conn) => {
    await conn.read(new Uint8Array(1024));
    if (reply.byteLength > 0) await conn.write(reply);
  });
}

/** Sends `banner` as soon as a client connects, as an SSH server does, then reads until it hangs up. */
export function startPlainGreeter(banner: Uint8Array): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return serve(listener, [], [], async (conn) => {
    await conn.write(banner);
    while (await conn.read(new Uint8Array(1024)) !== null) {
      // swallow everything
    }
  });
}

function serve(
  listener: Deno.Listener,
  failures: unknown[],
  handshakes: (string | null)[],
  handle: (conn: Deno.Conn) => Promise<void>,
): TestServer {
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      open.add(conn);
      const task = handle(conn).catch((error) => {
        failures.push(error);
      }).finally(() => {
        open.delete(conn);
        try {
          conn.close();
        } catch { /* already closed by dispose */ }
      });
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    failures,
    handshakes,
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop;
      for (const conn of open) {
        try {
          conn.close();
        } catch { /* closed meanwhile */ }
      }
      await Promise.all(tasks);
    },
  };
}
