/**
 * `deno task bench --only fts`: throughput of fts alone over 127.0.0.1,
 * server and client in two processes, for before/after checks of a change.
 * Uploads and downloads one large file (1 GiB by default) and a batch of
 * small files (1,000 × 4 KiB), and prints MB/s, files/s, CPU seconds per
 * GiB and the server's peak memory.
 *
 *   deno task bench --only fts [--size-mib N] [--files N] [--file-kib N]
 *                   [--runs N] [--warmup N] [--recycle] [--tls] [--encrypt]
 *
 * Each run uploads the large file under a new name and downloads it to a new
 * local name, so no run pays for deleting the previous run's file. The
 * first `--warmup` runs (default 1) are left out of the figures; the figures
 * are the median, best and worst of `--runs` timed runs (default 3). The
 * local file's modification time is set an hour back, as for any file that
 * is not being written right now (see server/storage/local/checksum_cache.ts on "racy"
 * times).
 *
 * On this Firecracker VM, writing a file into memory the guest has not used
 * lately costs about ten times more than writing into recycled memory (the
 * host hands pages back and faults them in again: 2.4 s against 0.22 s per
 * GiB measured here), so the figures depend on what ran before. By default
 * every run's files are kept, so each run writes into fresh memory, as a
 * server receiving new files does. `--recycle` deletes each run's files
 * after it is timed, so the next run writes into memory just freed: the
 * figures the code reaches when memory is warm.
 *
 * `--tls` runs the server with its default TLS identity and connects pinned
 * to it; without it, plain TCP (`--no-tls`), the figures TLS is compared
 * with.
 *
 * `--encrypt` adds the large file's upload with `put --encrypt` (age, to a
 * fresh X25519 identity) and its download decrypted, in MB/s of plaintext,
 * beside the plain figures.
 *
 * The server runs from main.ts as a subprocess; this process is the client
 * and uses the client engine directly, so the figures are the transfer's own,
 * not process start-up.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { randomFillSync } from "node:crypto";
import { join } from "node:path";
import { type ClientSession, openSession } from "../client/engine/session.ts";
import { AgeIdentity } from "../client/vault/age_keys.ts";
import { connectTls } from "./fts_engine_connect.ts";
import {
  cpuSeconds,
  type ServerProcess,
  startServerProcess,
} from "./server_process.ts";

const MiB = 1024 * 1024;

/** Runs the fts-only benchmark with its command-line `args`. */
export async function runFtsOnly(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "size-mib": { type: "string", default: "1024" },
      "files": { type: "string", default: "1000" },
      "file-kib": { type: "string", default: "4" },
      "runs": { type: "string", default: "3" },
      "warmup": { type: "string", default: "1" },
      "recycle": { type: "boolean", default: false },
      "tls": { type: "boolean", default: false },
      "encrypt": { type: "boolean", default: false },
    },
  });
  const sizeMiB = positive(values["size-mib"], "--size-mib");
  const fileCount = positive(values.files, "--files");
  const fileKiB = positive(values["file-kib"], "--file-kib");
  const runs = positive(values.runs, "--runs");
  const warmups = whole(values.warmup, "--warmup");

  const work = await Deno.makeTempDir({ prefix: "fts-bench-" });
  try {
    const local = join(work, "local");
    const back = join(work, "back");
    const root = join(work, "root");
    await Promise.all([local, back, root].map((d) => Deno.mkdir(d)));
    await writeRandomFile(join(local, "big.bin"), sizeMiB * MiB);
    const anHourAgo = new Date(Date.now() - 60 * 60 * 1000);
    await Deno.utime(join(local, "big.bin"), anHourAgo, anHourAgo);
    const small: string[] = [];
    const block = new Uint8Array(fileKiB * 1024);
    for (let i = 0; i < fileCount; i++) {
      randomFillSync(block);
      const name = `small-${String(i).padStart(5, "0")}.bin`;
      await Deno.writeFile(join(local, name), block);
      small.push(name);
    }

    // Plain TCP by default: the figures TLS and the vault are compared with.
    await using server = await startServerProcess(
      root,
      values.tls ? [] : ["--no-tls"],
    );
    await using session = await openSession(
      `127.0.0.1:${server.port}`,
      values.tls ? { connect: connectTls } : {},
    );
    const bytes = sizeMiB * MiB;
    const up: number[] = [];
    const down: number[] = [];
    const batchUp: number[] = [];
    const batchDown: number[] = [];
    const sealedUp: number[] = [];
    const sealedDown: number[] = [];
    const identity = values.encrypt ? await AgeIdentity.generate() : null;
    const upCpu: Cpu[] = [];
    const downCpu: Cpu[] = [];
    const dirs = { local, back, recycle: values.recycle, server };
    for (let warm = 0; warm < warmups; warm++) {
      await largeRun(session, `warmup-${warm}.bin`, dirs);
      if (identity) {
        await sealedRun(session, `warmup-${warm}.bin`, { ...dirs, identity });
      }
    }
    for (let run = 0; run < runs; run++) {
      const [upTiming, downTiming] = await largeRun(
        session,
        `big-${run}.bin`,
        dirs,
      );
      up.push(upTiming.seconds);
      upCpu.push(upTiming.cpu);
      down.push(downTiming.seconds);
      downCpu.push(downTiming.cpu);
      batchUp.push(
        await timed(async () => {
          const results = await session.putMany(
            small.map((name) => ({
              localPath: join(local, name),
              remoteName: `batch/${name}`,
            })),
            { overwrite: true },
          );
          assertAllOk(results);
        }, () => session.mkdir("batch").catch(() => {})),
      );
      batchDown.push(
        await timed(async () => {
          const results = await session.getMany(
            small.map((name) => ({ remoteName: `batch/${name}` })),
            join(back, "batch"),
            { overwrite: true },
          );
          assertAllOk(results);
        }, () => Deno.mkdir(join(back, "batch"), { recursive: true })),
      );
      if (identity) {
        const [upSeconds, downSeconds] = await sealedRun(
          session,
          `big-${run}.bin`,
          { ...dirs, identity },
        );
        sealedUp.push(upSeconds);
        sealedDown.push(downSeconds);
      }
    }
    const report = [
      `fts bench: ${runs} runs after ${warmups} warm-up, 127.0.0.1 ` +
      `${values.tls ? "TLS" : "plain TCP"}, ` +
      `${values.recycle ? "memory recycled" : "fresh memory"}, ` +
      `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
      row(`upload ${sizeMiB} MiB`, up, (s) => `${mbps(bytes, s)} MB/s`),
      row(`download ${sizeMiB} MiB`, down, (s) => `${mbps(bytes, s)} MB/s`),
      `  CPU s per GiB (median): upload ${cpuRow(upCpu, sizeMiB)}; ` +
      `download ${cpuRow(downCpu, sizeMiB)}`,
      row(
        `upload ${fileCount} × ${fileKiB} KiB`,
        batchUp,
        (s) => `${Math.round(fileCount / s)} files/s`,
      ),
      row(
        `download ${fileCount} × ${fileKiB} KiB`,
        batchDown,
        (s) => `${Math.round(fileCount / s)} files/s`,
      ),
      ...(identity
        ? [
          row(`upload ${sizeMiB} MiB --encrypt`, sealedUp, (s) =>
            `${mbps(bytes, s)} MB/s`),
          row(`download ${sizeMiB} MiB decrypt`, sealedDown, (s) =>
            `${mbps(bytes, s)} MB/s`),
        ]
        : []),
      `server peak RSS ${await server.peakRssMiB()} MiB; ` +
      `client RSS ${Math.round(Deno.memoryUsage().rss / MiB)} MiB`,
    ];
    console.log(report.join("\n"));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/** CPU seconds (user + system) each process spent on one transfer. */
interface Cpu {
  readonly client: number;
  readonly server: number;
}

/** How long one transfer took, and the CPU time it cost. */
interface Timing {
  readonly seconds: number;
  readonly cpu: Cpu;
}

/** Where a large run reads its file and puts the copy it gets back. */
interface RunDirs {
  /** The folder of `big.bin`. */
  local: string;
  /** The folder downloads go to. */
  back: string;
  /** Whether both copies are deleted after the run. */
  recycle: boolean;
}

/**
 * Uploads `local/big.bin` as `name` and downloads it into `back`; returns
 * the time and CPU of each. With `recycle`, deletes both copies afterwards.
 */
async function largeRun(
  session: ClientSession,
  name: string,
  dirs: RunDirs & { server: ServerProcess },
): Promise<[Timing, Timing]> {
  const upTiming = await measured(
    dirs.server,
    () => session.put(join(dirs.local, "big.bin"), name, { overwrite: false }),
  );
  const downTiming = await measured(
    dirs.server,
    () => session.get(name, dirs.back, { overwrite: false }),
  );
  if (dirs.recycle) {
    await session.remove(name);
    await Deno.remove(join(dirs.back, name));
  }
  return [upTiming, downTiming];
}

/** Runs `fn`, timing it and measuring both processes' CPU time. */
async function measured(
  server: ServerProcess,
  fn: () => Promise<unknown>,
): Promise<Timing> {
  const client0 = cpuSeconds(Deno.pid);
  const server0 = server.cpuSeconds();
  const seconds = await timed(fn);
  return {
    seconds,
    cpu: {
      client: cpuSeconds(Deno.pid) - client0,
      server: server.cpuSeconds() - server0,
    },
  };
}

/** "client 0.95 s + server 0.84 s": medians, scaled to one GiB. */
function cpuRow(cpu: readonly Cpu[], sizeMiB: number): string {
  const perGiB = (pick: (c: Cpu) => number) => {
    const sorted = cpu.map(pick).sort((a, b) => a - b);
    return ((sorted[Math.floor(sorted.length / 2)] ?? NaN) * 1024 / sizeMiB)
      .toFixed(2);
  };
  return `client ${perGiB((c) => c.client)} s + server ${
    perGiB((c) => c.server)
  } s`;
}

/**
 * {@linkcode largeRun} with the vault: uploads `local/big.bin` encrypted as
 * `name.age` and downloads it decrypted into `back` as `name`, under the
 * same naming and recycling rules; returns the seconds of each.
 */
async function sealedRun(
  session: ClientSession,
  name: string,
  dirs: RunDirs & { identity: AgeIdentity },
): Promise<[number, number]> {
  const { identity } = dirs;
  const upSeconds = await timed(() =>
    session.put(join(dirs.local, "big.bin"), `${name}.age`, {
      overwrite: false,
      encrypt: { recipients: [identity.recipient] },
    })
  );
  let decrypted = false;
  const downSeconds = await timed(async () => {
    const got = await session.get(`${name}.age`, dirs.back, {
      overwrite: false,
      decrypt: () => Promise.resolve({ identities: [identity] }),
      stripAgeSuffix: true,
    });
    decrypted = got.decrypted === true;
  });
  if (!decrypted) throw new Error("The encrypted download was not decrypted");
  if (dirs.recycle) {
    await session.remove(`${name}.age`);
    await Deno.remove(join(dirs.back, name));
  }
  return [upSeconds, downSeconds];
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const block = new Uint8Array(16 * MiB);
  randomFillSync(block);
  using file = await Deno.open(path, { write: true, create: true });
  for (let left = size; left > 0; left -= block.byteLength) {
    let chunk = block.subarray(0, Math.min(left, block.byteLength));
    while (chunk.byteLength > 0) {
      chunk = chunk.subarray(await file.write(chunk));
    }
  }
}

/** Seconds `fn` takes; `before` runs first, untimed. */
async function timed(
  fn: () => Promise<unknown>,
  before?: () => Promise<unknown>,
): Promise<number> {
  await before?.();
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

function assertAllOk(results: readonly { ok: boolean }[]): void {
  const failed = results.filter((r) => !r.ok).length;
  if (failed > 0) throw new Error(`${failed} files of the batch failed`);
}

/** Median, min and max of `seconds`, shown through `show`. */
function row(
  label: string,
  seconds: number[],
  show: (s: number) => string,
): string {
  const sorted = [...seconds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  // The fastest time is the highest rate and the slowest the lowest.
  return `${label.padEnd(28)} median ${show(median).padStart(14)}` +
    `   (best ${show(sorted[0]!)}, worst ${show(sorted.at(-1)!)})`;
}

function mbps(bytes: number, seconds: number): string {
  return (bytes / seconds / 1e6).toFixed(0);
}

function whole(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${flag} must be a whole number`);
  }
  return n;
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`${flag} must be a positive whole number`);
  }
  return n;
}
