/**
 * `deno task bench --only memory`: the peak memory of an fts server while
 * several clients each upload, then each download, one large file at the
 * same time, and the peak of each client, over 127.0.0.1 with TLS.
 *
 *   deno task bench --only memory [--clients N] [--size-mib N]
 *
 * Defaults: 4 clients, 1,024 MiB each. The server runs from main.ts as a
 * subprocess (`fts serve`), each client as an `fts connect … put` or
 * `… get` subprocess, all started together; every downloaded file is
 * compared byte for byte with its original. The server's figure is its
 * VmHWM (peak resident memory) over the uploads, then over the uploads
 * and the downloads; a client's is its VmHWM sampled every 50 ms while it
 * runs (/proc; Linux only), so a peak in its last 50 ms can be missed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { randomFillSync } from "node:crypto";
import { startServerProcess } from "./server_process.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;

/** Runs the memory benchmark with its command-line `args`. */
export async function runFtsMemory(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "clients": { type: "string", default: "4" },
      "size-mib": { type: "string", default: "1024" },
    },
  });
  const clients = positive(values.clients, "--clients");
  const sizeMiB = positive(values["size-mib"], "--size-mib");
  const work = await Deno.makeTempDir({ prefix: "fts-memory-" });
  try {
    const root = join(work, "root");
    const config = join(work, "config");
    await Deno.mkdir(root);
    await Deno.mkdir(config);
    const locals: string[] = [];
    for (let i = 0; i < clients; i++) {
      const dir = join(work, `client${i}`);
      await Deno.mkdir(join(dir, "down"), { recursive: true });
      await writeRandomFile(join(dir, "big.bin"), sizeMiB * MiB, i);
      locals.push(dir);
    }
    await using server = await startServerProcess(root, [
      "--anonymous",
      "write",
    ]);
    const idle = await server.peakRssMiB();
    const base = [
      "run",
      "-A",
      MAIN,
      "connect",
      `127.0.0.1:${server.port}`,
      "--fingerprint",
      server.fingerprint!,
      "-q",
    ];
    const env = { FTS_CONFIG_DIR: config };
    const started = performance.now();
    const up = await Promise.all(
      locals.map((dir, i) =>
        runClient([...base, "--dir", dir, "put", "big.bin", `big${i}.bin`], env)
      ),
    );
    const upSeconds = (performance.now() - started) / 1000;
    const afterUp = await server.peakRssMiB();
    const again = performance.now();
    const down = await Promise.all(locals.map((dir, i) =>
      runClient([
        ...base,
        "--dir",
        join(dir, "down"),
        "get",
        `big${i}.bin`,
      ], env)
    ));
    const downSeconds = (performance.now() - again) / 1000;
    const afterDown = await server.peakRssMiB();
    for (let i = 0; i < clients; i++) {
      await sameBytes(
        join(locals[i]!, "big.bin"),
        join(locals[i]!, "down", `big${i}.bin`),
      );
    }
    const total = clients * sizeMiB * MiB;
    console.log(
      `fts memory bench: ${clients} clients × ${sizeMiB} MiB at once, ` +
        `127.0.0.1 TLS, Deno ${Deno.version.deno}`,
    );
    console.log(
      `upload   ${mbps(total, upSeconds)} MB/s in all; ` +
        `client peaks ${up.join(", ")} MiB`,
    );
    console.log(
      `download ${mbps(total, downSeconds)} MB/s in all; ` +
        `client peaks ${down.join(", ")} MiB`,
    );
    console.log(
      `server peak RSS: ${idle} MiB idle, ${afterUp} MiB after the uploads, ` +
        `${afterDown} MiB after the downloads (all verified)`,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** Runs one client command; resolves with its sampled peak RSS in MiB. */
async function runClient(
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const sample = () => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const kib = Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0);
      peak = Math.max(peak, kib);
    } catch {
      // Gone between two samples.
    }
  };
  const timer = setInterval(sample, 50);
  const { code, stderr } = await child.output().finally(() =>
    clearInterval(timer)
  );
  if (code !== 0) {
    throw new Error(
      `fts ${args.slice(-2).join(" ")} failed: ${
        new TextDecoder().decode(stderr).trim()
      }`,
    );
  }
  return Math.round(peak / 1024);
}

/** Writes `size` random bytes (different for each `seed`) to `path`. */
async function writeRandomFile(
  path: string,
  size: number,
  seed: number,
): Promise<void> {
  using file = await Deno.open(path, { write: true, createNew: true });
  const chunk = new Uint8Array(4 * MiB);
  for (let at = 0; at < size; at += chunk.length) {
    randomFillSync(chunk);
    chunk[0] = seed;
    const part = chunk.subarray(0, Math.min(chunk.length, size - at));
    let written = 0;
    while (written < part.length) {
      written += await file.write(part.subarray(written));
    }
  }
  // An hour back, as for any file that is not being written right now.
  const past = new Date(Date.now() - 3_600_000);
  await Deno.utime(path, past, past);
}

/** Throws unless the files at `a` and `b` hold the same bytes. */
async function sameBytes(a: string, b: string): Promise<void> {
  using fa = await Deno.open(a);
  using fb = await Deno.open(b);
  const ba = new Uint8Array(4 * MiB);
  const bb = new Uint8Array(4 * MiB);
  for (;;) {
    const na = await readFull(fa, ba);
    const nb = await readFull(fb, bb);
    if (na !== nb || ba.subarray(0, na).some((v, i) => v !== bb[i])) {
      throw new Error(`${b} differs from ${a}`);
    }
    if (na === 0) return;
  }
}

async function readFull(file: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}

function mbps(bytes: number, seconds: number): string {
  return (bytes / 1e6 / seconds).toFixed(0);
}

function positive(text: string | undefined, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`${name} must be a positive whole number`);
  }
  return n;
}
