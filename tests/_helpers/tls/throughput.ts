/**
 * Measures raw TLS throughput over 127.0.0.1 with the same building blocks
 * fts uses (`listenTls` + `connectPinned`), server in its own process, own
 * read/write loops with 1 MiB buffers. Not a test: run it by hand.
 *
 * ```sh
 * deno run -A tests/_helpers/tls/throughput.ts            # 1 GiB each way, TLS
 * deno run -A tests/_helpers/tls/throughput.ts --tcp      # same over plain TCP
 * deno run -A tests/_helpers/tls/throughput.ts --mib 256  # smaller run
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connectPinned } from "../../../client/connect/tls_connect.ts";
import {
  listenTls,
  loadOrCreateIdentity,
} from "../../../server/tls/tls_identity.ts";

const BUFFER = 1024 * 1024;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

async function readExactly(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let got = 0;
  while (got < bytes.byteLength) {
    const n = await conn.read(bytes.subarray(got));
    if (n === null) throw new Error("connection closed early");
    got += n;
  }
}

/** Child process: serve one connection. Command byte U (receive) or D (send), u64 size. */
async function serve(stateDir: string, tcp: boolean): Promise<void> {
  const identity = await loadOrCreateIdentity(stateDir);
  using listener = tcp
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : listenTls(identity, { port: 0 });
  console.log(`listening on 127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
  using conn = await listener.accept();
  const header = new Uint8Array(9);
  const buffer = new Uint8Array(BUFFER);
  for (;;) {
    try {
      await readExactly(conn, header);
    } catch {
      return;
    }
    const size = Number(new DataView(header.buffer).getBigUint64(1));
    if (header[0] === 0x55) { // U: the client uploads
      let left = size;
      while (left > 0) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("upload cut short");
        left -= n;
      }
      await writeAll(conn, new Uint8Array([1]));
    } else { // D: the client downloads
      let left = size;
      while (left > 0) {
        const n = Math.min(left, BUFFER);
        await writeAll(conn, buffer.subarray(0, n));
        left -= n;
      }
    }
  }
}

async function measure(mib: number, tcp: boolean): Promise<void> {
  const stateDir = await Deno.makeTempDir({ prefix: "fts_tls_bench_" });
  const identity = await loadOrCreateIdentity(stateDir);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      import.meta.filename!,
      "--serve",
      stateDir,
      ...(tcp ? ["--tcp"] : []),
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("server printed nothing");
    first += value;
  }
  const port = Number(/listening on [^:]+:(\d+)/.exec(first)![1]);
  using conn = tcp
    ? await Deno.connect({ hostname: "127.0.0.1", port })
    : await connectPinned("127.0.0.1", port, {
      pinnedCertPem: identity.certPem,
    });
  const size = mib * BUFFER;
  const buffer = crypto.getRandomValues(new Uint8Array(65536));
  const chunk = new Uint8Array(BUFFER);
  for (let i = 0; i < BUFFER; i += buffer.length) chunk.set(buffer, i);
  const header = new Uint8Array(9);
  const view = new DataView(header.buffer);

  header[0] = 0x55;
  view.setBigUint64(1, BigInt(size));
  let start = performance.now();
  await writeAll(conn, header);
  for (let sent = 0; sent < size; sent += BUFFER) await writeAll(conn, chunk);
  await readExactly(conn, new Uint8Array(1));
  const up = performance.now() - start;

  header[0] = 0x44;
  start = performance.now();
  await writeAll(conn, header);
  let left = size;
  while (left > 0) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("download cut short");
    left -= n;
  }
  const down = performance.now() - start;
  conn.close();
  await child.status;
  await reader.cancel();
  await Deno.remove(stateDir, { recursive: true });
  const rate = (ms: number) => (size / (ms / 1000) / 1e9).toFixed(2);
  console.log(
    `${tcp ? "TCP" : "TLS"} ${mib} MiB: client→server ${rate(up)} GB/s ` +
      `(${up.toFixed(0)} ms), server→client ${rate(down)} GB/s (${
        down.toFixed(0)
      } ms)`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      serve: { type: "string" },
      tcp: { type: "boolean", default: false },
      mib: { type: "string", default: "1024" },
    },
  });
  if (values.serve !== undefined) await serve(values.serve, values.tcp);
  else await measure(Number(values.mib), values.tcp);
}
