/**
 * The benchmark's scenarios. Each runs every tool `runs` times, the tools
 * taking turns run by run (the order rotates, so no tool always goes first
 * into a cold cache), checks every transfer byte for byte, and returns its
 * table. A tool that fails is noted and left out of the rest of that
 * scenario; the run then ends with a failure status.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { formatBytes, type Sizes } from "./sizes.ts";
import type { Row, Table } from "./report.ts";
import type { Tool } from "./peers/tool.ts";
import {
  reapedChildrenCpuSeconds,
  sampleTreeRss,
  treeCpuSeconds,
} from "./proc_stats.ts";
import { megabytesPerSecond } from "./stats.ts";
import { assertSameFile, assertSameTree } from "./verify.ts";
import { startShapingProxy } from "./shaping_proxy.ts";
import { startCutProxy } from "./cut_proxy.ts";

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

/** What every scenario needs. */
export interface BenchContext {
  /** Folder for downloads (emptied after each check). */
  readonly work: string;
  readonly tools: readonly Tool[];
  readonly sizes: Sizes;
  /** Failures, appended as they happen. */
  readonly failures: string[];
  /** Reports progress (one line per transfer) when set. */
  readonly progress?: (line: string) => void;
}

/** The source files and folders, made by the caller (see datasets.ts). */
export interface Sources {
  readonly random: string;
  readonly text: string;
  readonly smallTree: string;
  readonly mediumTree: string;
  readonly one: string;
  readonly clientFile: string;
  readonly slowRandom: string;
  readonly slowText: string;
}

/** Time, CPU and memory of one transfer. */
interface Measured {
  readonly seconds: number;
  /** CPU seconds of the client command(s) and of the server's process tree. */
  readonly cpu: number;
  /** Peak summed resident memory of the server's processes, bytes. */
  readonly serverRss: number;
}

async function measure(tool: Tool, fn: () => Promise<void>): Promise<Measured> {
  const serverCpu = () =>
    tool.serverPids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  const rss = sampleTreeRss(tool.serverPids);
  const client0 = reapedChildrenCpuSeconds();
  const server0 = serverCpu();
  const start = performance.now();
  let peak: number;
  try {
    await fn();
  } finally {
    // Stops the sampler on failure too.
    peak = rss.stop();
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    seconds,
    cpu: reapedChildrenCpuSeconds() - client0 + serverCpu() - server0,
    serverRss: peak,
  };
}

/**
 * Measures `tool` sending `source` up as `remote` and getting it back as
 * `local`, checks each copy against `source` with `same`, then removes both
 * copies.
 */
async function roundTrip(
  tool: Tool,
  source: string,
  remote: string,
  local: string,
  steps: {
    up: () => Promise<void>;
    down: () => Promise<void>;
    same: (expected: string, actual: string) => void;
  },
): Promise<{ up: Measured; down: Measured }> {
  const up = await measure(tool, steps.up);
  steps.same(source, join(tool.root, remote));
  const down = await measure(tool, steps.down);
  steps.same(source, local);
  removeQuietly(join(tool.root, remote));
  removeQuietly(local);
  return { up, down };
}

/** Tells the progress of run `run` of `tool` on `what`, up and down. */
function runProgress(
  ctx: BenchContext,
  tool: Tool,
  what: string,
  run: number,
  up: Measured,
  down: Measured,
): void {
  ctx.progress?.(
    `  ${tool.name} ${what} run ${run + 1}: up ${up.seconds.toFixed(2)} s, ` +
      `down ${down.seconds.toFixed(2)} s`,
  );
}

/** Longest reason a report's failure note quotes. */
const REASON_CHARS = 160;

/**
 * A failure's reason as the report quotes it: its first line, scratch paths
 * shown as `…`, at most {@linkcode REASON_CHARS} characters (the full
 * message goes to the progress log).
 */
export function shortReason(ctx: BenchContext, message: string): string {
  const scratch = dirname(ctx.work);
  const line = (message.split("\n")[0] ?? "").replaceAll(scratch, "…").trim();
  return line.length <= REASON_CHARS
    ? line
    : `${line.slice(0, REASON_CHARS - 1)}…`;
}

/** Runs `body(tool, run)` for every run and tool, taking turns; drops a tool that fails. */
async function eachRun(
  ctx: BenchContext,
  scenario: string,
  body: (tool: Tool, run: number) => Promise<void>,
  tools: readonly Tool[] = ctx.tools,
): Promise<void> {
  const broken = new Set<string>();
  for (let run = 0; run < ctx.sizes.runs; run++) {
    const turn = tools.map((_, i) => tools[(i + run) % tools.length]!);
    for (const tool of turn) {
      if (broken.has(tool.name)) continue;
      try {
        await body(tool, run);
      } catch (error) {
        broken.add(tool.name);
        const message = error instanceof Error ? error.message : String(error);
        ctx.failures.push(
          `${tool.name} failed in "${scenario}": ${shortReason(ctx, message)}`,
        );
        ctx.progress?.(`  ${tool.name}: FAILED ${message}`);
      }
    }
  }
}

function emptyDir(path: string): string {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  Deno.mkdirSync(path, { recursive: true });
  return path;
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Per tool, the values of one row, filled as the runs go. */
class Rows {
  readonly #rows = new Map<string, Map<string, number[]>>();
  readonly #units = new Map<string, string>();

  add(label: string, unit: string, tool: string, value: number): void {
    const row = this.#rows.get(label) ?? new Map<string, number[]>();
    this.#rows.set(label, row);
    this.#units.set(label, unit);
    row.set(tool, [...(row.get(tool) ?? []), value]);
  }

  list(): Row[] {
    return [...this.#rows].map(([label, values]) => ({
      label,
      unit: this.#units.get(label)!,
      values,
    }));
  }
}

/** The large files, random and log text, up and down. */
export async function largeFiles(
  ctx: BenchContext,
  src: Sources,
): Promise<Table> {
  const rows = new Rows();
  const bytes = ctx.sizes.bigBytes;
  for (
    const [kind, source, ext] of [
      ["random", src.random, "bin"],
      ["log text", src.text, "log"],
    ] as const
  ) {
    await eachRun(ctx, `${formatBytes(bytes)} ${kind}`, async (tool, run) => {
      const remote = `big-${run}.${ext}`;
      const local = join(emptyDir(join(ctx.work, "big")), remote);
      const { up, down } = await roundTrip(tool, source, remote, local, {
        up: () => tool.putFile(source, remote),
        down: () => tool.getFile(remote, local),
        same: assertSameFile,
      });
      rows.add(
        `${kind}, up`,
        "MB/s",
        tool.name,
        megabytesPerSecond(bytes, up.seconds),
      );
      rows.add(
        `${kind}, down`,
        "MB/s",
        tool.name,
        megabytesPerSecond(bytes, down.seconds),
      );
      if (kind === "random") {
        rows.add(
          "CPU per GiB, both ends (random up)",
          "s",
          tool.name,
          up.cpu * GiB / bytes,
        );
        rows.add(
          "CPU per GiB, both ends (random down)",
          "s",
          tool.name,
          down.cpu * GiB / bytes,
        );
      }
      if (tool.serverPids.length > 0) {
        rows.add(
          "server peak RSS (sampled every 0.1 s)",
          "MiB",
          tool.name,
          Math.max(up.serverRss, down.serverRss) / MiB,
        );
      }
      runProgress(ctx, tool, kind, run, up, down);
    });
  }
  return {
    title: `One ${formatBytes(bytes)} file`,
    notes: [
      "One command per transfer, process start included. Random bytes do not " +
      "compress; the log text is web-server access log lines. CPU is user + " +
      "system time of the client command and the server's processes, scaled " +
      "to one GiB.",
    ],
    rows: rows.list().sort((a, b) => rowOrder(a.label) - rowOrder(b.label)),
  };
}

function rowOrder(label: string): number {
  const order = [
    "random, up",
    "random, down",
    "log text, up",
    "log text, down",
  ];
  const i = order.indexOf(label);
  return i < 0 ? order.length + (label.startsWith("CPU") ? 0 : 1) : i;
}

/** The two folder trees, up and down, one command each way. */
export async function folders(ctx: BenchContext, src: Sources): Promise<Table> {
  const rows = new Rows();
  const s = ctx.sizes;
  for (
    const [label, tree, files, bytes, unit] of [
      [
        `${s.smallFiles.toLocaleString("en-US")} × ${
          formatBytes(s.smallBytes)
        } in 10×10 folders`,
        src.smallTree,
        s.smallFiles,
        s.smallBytes,
        "files/s",
      ],
      [
        `${s.mediumFiles} × ${formatBytes(s.mediumBytes)} in 4 folders`,
        src.mediumTree,
        s.mediumFiles,
        s.mediumBytes,
        "MB/s",
      ],
    ] as const
  ) {
    const rate = (seconds: number) =>
      unit === "files/s"
        ? files / seconds
        : megabytesPerSecond(files * bytes, seconds);
    await eachRun(ctx, label, async (tool, run) => {
      const remote = `tree-${run}`;
      const local = join(emptyDir(join(ctx.work, "tree")), remote);
      const { up, down } = await roundTrip(tool, tree, remote, local, {
        up: () => tool.putTree(tree, remote),
        down: () => tool.getTree(remote, local),
        same: assertSameTree,
      });
      rows.add(`${label}, up`, unit, tool.name, rate(up.seconds));
      rows.add(`${label}, down`, unit, tool.name, rate(down.seconds));
      runProgress(ctx, tool, label, run, up, down);
    });
  }
  return {
    title: "Folders",
    notes: [
      "One command per folder tree and direction (curl: one process with " +
      "every file in a config file, keeping its connection).",
    ],
    rows: rows.list(),
  };
}

/** One small file fetched with one command, process start included. */
export async function oneFile(ctx: BenchContext, src: Sources): Promise<Table> {
  const rows = new Rows();
  const ready = await prepare(ctx, "one.bin", src.one, "one small file");
  await eachRun(ctx, "one small file", async (tool, run) => {
    const local = join(emptyDir(join(ctx.work, "one")), `one-${run}.bin`);
    const got = await measure(tool, () => tool.getFile("one.bin", local));
    assertSameFile(src.one, local);
    rows.add(
      `one ${formatBytes(ctx.sizes.oneBytes)} file, download`,
      "s",
      tool.name,
      got.seconds,
    );
  }, ready);
  return {
    title: "One small file in one command",
    notes: [
      "From starting the client command to its exit, including the connection and login.",
    ],
    rows: rows.list(),
  };
}

/** Many clients at once, each downloading the same file. */
export async function manyClients(
  ctx: BenchContext,
  src: Sources,
): Promise<Table> {
  const rows = new Rows();
  const { clients, clientBytes } = ctx.sizes;
  const ready = await prepare(ctx, "many.bin", src.clientFile, "many clients");
  await eachRun(ctx, "many clients", async (tool, run) => {
    const dir = emptyDir(join(ctx.work, "many"));
    const locals = Array.from(
      { length: clients },
      (_, i) => join(dir, `c${i}-${run}.bin`),
    );
    const got = await measure(tool, () => tool.fetchMany("many.bin", locals));
    for (const local of locals) assertSameFile(src.clientFile, local);
    removeQuietly(dir);
    rows.add(
      `${clients} clients × ${formatBytes(clientBytes)}, aggregate`,
      "MB/s",
      tool.name,
      megabytesPerSecond(clients * clientBytes, got.seconds),
    );
  }, ready);
  return {
    title: `${clients} clients at once`,
    notes: [
      "Each client has its own connection. fts runs its clients in one " +
      "process through the client engine and curl in one process with " +
      "--parallel; the other tools start one client process each.",
    ],
    rows: rows.list(),
  };
}

/** Through the shaping proxy: the slow link, random and log text, compression on. */
export async function slowLink(
  ctx: BenchContext,
  src: Sources,
): Promise<Table> {
  const rows = new Rows();
  const s = ctx.sizes;
  const tools = ctx.tools.filter((t) => t.proxyable && t.port !== undefined);
  for (
    const [kind, source, ext] of [
      ["random", src.slowRandom, "bin"],
      ["log text", src.slowText, "log"],
    ] as const
  ) {
    await eachRun(ctx, `slow link ${kind}`, async (tool, run) => {
      await using proxy = startShapingProxy({
        targetPort: tool.port!,
        bitsPerSecond: s.slowBitsPerSecond,
        rttMs: s.slowRttMs,
      });
      const options = { port: proxy.port, compress: true };
      const remote = `slow-${run}.${ext}`;
      const local = join(emptyDir(join(ctx.work, "slow")), remote);
      const { up, down } = await roundTrip(tool, source, remote, local, {
        up: () => tool.putFile(source, remote, options),
        down: () => tool.getFile(remote, local, options),
        same: assertSameFile,
      });
      rows.add(
        `${kind}, up`,
        "MB/s",
        tool.name,
        megabytesPerSecond(s.slowBytes, up.seconds),
      );
      rows.add(
        `${kind}, down`,
        "MB/s",
        tool.name,
        megabytesPerSecond(s.slowBytes, down.seconds),
      );
      runProgress(ctx, tool, `slow ${kind}`, run, up, down);
    }, tools);
  }
  const link = megabytesPerSecond(s.slowBitsPerSecond / 8, 1);
  return {
    title: `Slow link: ${
      s.slowBitsPerSecond / 1e6
    } Mbit/s, ${s.slowRttMs} ms round trip`,
    notes: [
      `${formatBytes(s.slowBytes)} per file through a shaping TCP proxy ` +
      `(bench/shaping_proxy.ts; the link carries ${
        link.toFixed(1)
      } MB/s each way). ` +
      "Each tool with its compression on: fts --compress auto (its default), ssh Compression=yes, " +
      "rsync -z, curl --compressed (nginx gzip, downloads only). FTP opens a " +
      "second connection per file and cannot pass the one-port proxy.",
    ],
    rows: rows.list(),
  };
}

/**
 * fts only: the large random file uploaded and downloaded whole, then cut
 * at 50 % each way (the command fails: `--retries 0`) and the same command
 * run again, which resumes; the resumed runs against the whole ones.
 */
export async function resumeCut(
  ctx: BenchContext,
  src: Sources,
): Promise<Table> {
  const rows = new Rows();
  const bytes = ctx.sizes.bigBytes;
  const tools = ctx.tools.filter((t) => t.name === "fts" && t.port);
  const ratios = { up: [] as number[], down: [] as number[] };
  await eachRun(ctx, "resume", async (tool, run) => {
    const remote = `resume-${run}.bin`;
    const stored = join(tool.root, remote);
    const local = join(emptyDir(join(ctx.work, "resume")), remote);
    const whole = await roundTrip(tool, src.random, remote, local, {
      up: () => tool.putFile(src.random, remote),
      down: () => tool.getFile(remote, local),
      same: assertSameFile,
    });
    await cutAtHalf(
      tool,
      "up",
      bytes,
      (port) => tool.putFile(src.random, remote, { port, retries: 0 }),
    );
    const up = await measure(tool, () => tool.putFile(src.random, remote));
    assertSameFile(src.random, stored);
    await cutAtHalf(
      tool,
      "down",
      bytes,
      (port) => tool.getFile(remote, local, { port, retries: 0 }),
    );
    const down = await measure(tool, () => tool.getFile(remote, local));
    assertSameFile(src.random, local);
    removeQuietly(stored);
    removeQuietly(local);
    const upRatio = up.seconds / whole.up.seconds;
    const downRatio = down.seconds / whole.down.seconds;
    ratios.up.push(upRatio);
    ratios.down.push(downRatio);
    rows.add("upload, whole file", "s", tool.name, whole.up.seconds);
    rows.add("upload, resumed at 50 %", "s", tool.name, up.seconds);
    rows.add("upload, resumed / whole", "%", tool.name, 100 * upRatio);
    rows.add("download, whole file", "s", tool.name, whole.down.seconds);
    rows.add("download, resumed at 50 %", "s", tool.name, down.seconds);
    rows.add("download, resumed / whole", "%", tool.name, 100 * downRatio);
    ctx.progress?.(
      `  ${tool.name} resume run ${run + 1}: up whole ${
        whole.up.seconds.toFixed(2)
      } s, resumed ${up.seconds.toFixed(2)} s (${
        (100 * upRatio).toFixed(0)
      } %); down whole ${whole.down.seconds.toFixed(2)} s, resumed ${
        down.seconds.toFixed(2)
      } s (${(100 * downRatio).toFixed(0)} %)`,
    );
  }, tools);
  return {
    title: `Resuming a cut ${formatBytes(bytes)} transfer`,
    notes: [
      "fts only. A proxy closes the connection once half of the file went " +
      "through; the client runs with --retries 0, so that command fails, " +
      "then the same command is run again and timed (process start " +
      "included). The resumed run checks the half already there by block " +
      "hashes (the server hashes what it kept of an upload, the client what " +
      "it kept of a download) and sends the rest; whole transfers of the " +
      "same file in the same run are the reference.",
    ],
    rows: rows.list(),
  };
}

/**
 * Runs `transfer` through a proxy that cuts it after half of `bytes` went
 * `direction`; the transfer must fail there.
 */
async function cutAtHalf(
  tool: Tool,
  direction: "up" | "down",
  bytes: number,
  transfer: (port: number) => Promise<void>,
): Promise<void> {
  await using proxy = startCutProxy({
    targetPort: tool.port!,
    direction,
    after: Math.floor(bytes / 2),
  });
  let finished = false;
  try {
    await transfer(proxy.port);
    finished = true;
  } catch (error) {
    if (!proxy.cut) throw error;
  }
  if (finished) {
    throw new Error(`The ${direction}load finished before it was cut`);
  }
}

/**
 * Uploads `source` as `remote` with every tool once (checked), so a
 * scenario can download it; returns the tools that managed.
 */
async function prepare(
  ctx: BenchContext,
  remote: string,
  source: string,
  scenario: string,
): Promise<Tool[]> {
  const ready: Tool[] = [];
  for (const tool of ctx.tools) {
    try {
      await tool.putFile(source, remote);
      assertSameFile(source, join(tool.root, remote));
      ready.push(tool);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.failures.push(
        `${tool.name} failed in "${scenario}" (upload): ${
          shortReason(ctx, message)
        }`,
      );
      ctx.progress?.(`  ${tool.name}: FAILED ${message}`);
    }
  }
  return ready;
}
