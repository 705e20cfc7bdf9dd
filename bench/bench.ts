/**
 * `deno task bench`: throughput of fts over 127.0.0.1, server and client in
 * two processes. Uploads and downloads one large file (1 GiB by default) and
 * a batch of small files (1,000 × 4 KiB), and prints MB/s, files/s and the
 * server's peak memory.
 *
 *   deno task bench [--size-mib N] [--files N] [--file-kib N] [--runs N]
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
import { openSession } from "../client/session.ts";
import { startServerProcess } from "./server_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "1024" },
    "files": { type: "string", default: "1000" },
    "file-kib": { type: "string", default: "4" },
    "runs": { type: "string", default: "3" },
  },
});
const sizeMiB = positive(values["size-mib"], "--size-mib");
const fileCount = positive(values.files, "--files");
const fileKiB = positive(values["file-kib"], "--file-kib");
const runs = positive(values.runs, "--runs");

const MiB = 1024 * 1024;
const work = await Deno.makeTempDir({ prefix: "fts-bench-" });
try {
  const local = join(work, "local");
  const back = join(work, "back");
  const root = join(work, "root");
  await Promise.all([local, back, root].map((d) => Deno.mkdir(d)));
  await writeRandomFile(join(local, "big.bin"), sizeMiB * MiB);
  const small: string[] = [];
  const block = new Uint8Array(fileKiB * 1024);
  for (let i = 0; i < fileCount; i++) {
    randomFillSync(block);
    const name = `small-${String(i).padStart(5, "0")}.bin`;
    await Deno.writeFile(join(local, name), block);
    small.push(name);
  }

  await using server = await startServerProcess(root);
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const bytes = sizeMiB * MiB;
  const up: number[] = [];
  const down: number[] = [];
  const batchUp: number[] = [];
  const batchDown: number[] = [];
  for (let run = 0; run < runs; run++) {
    up.push(
      await timed(() =>
        session.put(join(local, "big.bin"), "big.bin", { overwrite: true })
      ),
    );
    down.push(
      await timed(() => session.get("big.bin", back, { overwrite: true })),
    );
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
  }
  const report = [
    `fts bench: ${runs} runs, 127.0.0.1, Deno ${Deno.version.deno}, ` +
    `${navigator.hardwareConcurrency} cores`,
    row(`upload ${sizeMiB} MiB`, up, (s) => `${mbps(bytes, s)} MB/s`),
    row(`download ${sizeMiB} MiB`, down, (s) => `${mbps(bytes, s)} MB/s`),
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
    `server peak RSS ${await server.peakRssMiB()} MiB; ` +
    `client RSS ${Math.round(Deno.memoryUsage().rss / MiB)} MiB`,
  ];
  console.log(report.join("\n"));
} finally {
  await Deno.remove(work, { recursive: true });
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

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`${flag} must be a positive whole number`);
  }
  return n;
}
