/**
 * The whole benchmark: fts against the peers that are installed, on a
 * private scratch folder, every scenario, then docs/BENCHMARKS.md and its
 * chart.
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import {
  flatTree,
  logTextChunks,
  nestedTree,
  randomChunks,
  writeChunks,
  writeTree,
} from "./datasets.ts";
import { ftsPeer } from "./peers/fts.ts";
import { sshdPeer } from "./peers/sshd.ts";
import { rsyncdPeer } from "./peers/rsyncd.ts";
import { httpsPeer } from "./peers/https.ts";
import { ftpPeer } from "./peers/ftp.ts";
import { cpPeer, iperf3, iperf3Version } from "./peers/limits.ts";
import type { Peer, PeerKind, Tool } from "./peers/tool.ts";
import { makeScratch } from "./scratch.ts";
import type { Sizes } from "./sizes.ts";
import {
  type BenchContext,
  folders,
  largeFiles,
  manyClients,
  oneFile,
  resumeCut,
  slowLink,
  type Sources,
} from "./scenarios.ts";
import { renderReport, type Table } from "./report.ts";
import { renderChart } from "./chart_svg.ts";
import { summarize } from "./stats.ts";

/** Peers in the order of the report's columns; fts first. */
const PEERS: readonly PeerKind[] = [
  ftsPeer,
  sshdPeer,
  rsyncdPeer,
  httpsPeer,
  ftpPeer,
  cpPeer,
];

/** The scenarios by name, for `--scenarios`. */
export const SCENARIOS = {
  large: largeFiles,
  folders,
  one: oneFile,
  many: manyClients,
  slow: slowLink,
  resume: resumeCut,
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

/** Options of {@linkcode runSuite}. */
export interface SuiteOptions {
  readonly sizes: Sizes;
  readonly quick: boolean;
  /** Only these tools (names as in the report), or every installed one. */
  readonly tools: readonly string[] | undefined;
  readonly scenarios: readonly ScenarioName[];
  /** Where to write the Markdown report (the SVG goes beside it), or undefined for none. */
  readonly report: string | undefined;
  readonly log: (line: string) => void;
}

/** Runs the benchmark; returns false when a tool failed or moved wrong bytes. */
export async function runSuite(options: SuiteOptions): Promise<boolean> {
  const { sizes, log } = options;
  const notes: string[] = [];
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
    .join(", ");
  const needGiB = Math.ceil(
    (sizes.bigBytes * 4 + sizes.clients * sizes.clientBytes * 2) / 2 ** 30,
  ) + 2;
  await using scratch = await makeScratch(needGiB);
  log(`scratch: ${scratch.dir} (${scratch.description})`);
  const sources = makeSources(join(scratch.dir, "data"), sizes, log);
  const work = join(scratch.dir, "work");
  Deno.mkdirSync(work);
  await using stack = new AsyncDisposableStack();
  const tools: Tool[] = [];
  for (const [i, kind] of PEERS.entries()) {
    const wanted = kind.toolNames.filter((t) =>
      options.tools?.includes(t) ?? true
    );
    if (wanted.length === 0) continue;
    const missing = kind.missing();
    if (missing !== undefined) {
      notes.push(
        `Skipped ${
          wanted.join(", ")
        }: ${missing} (\`deno task bench:setup\` installs it).`,
      );
      continue;
    }
    const dir = join(scratch.dir, `peer-${i}`);
    Deno.mkdirSync(dir);
    let peer: Peer;
    try {
      peer = await kind.start(dir);
    } catch (error) {
      notes.push(
        `Skipped ${wanted.join(", ")}: it did not start (${
          error instanceof Error ? error.message : error
        }).`,
      );
      continue;
    }
    stack.use(peer);
    tools.push(...peer.tools.filter((t) => wanted.includes(t.name)));
    log(`started ${wanted.join(", ")}`);
  }
  let loopback: number | undefined;
  try {
    loopback = await iperf3(sizes.iperfSeconds);
    if (loopback === undefined) {
      notes.push("Skipped the loopback limit: iperf3 is not installed.");
    }
  } catch (error) {
    notes.push(
      `Skipped the loopback limit: iperf3 failed (${
        error instanceof Error ? error.message : error
      }).`,
    );
  }
  const ctx: BenchContext = { work, tools, sizes, failures: [], progress: log };
  const tables: Table[] = [];
  for (const name of options.scenarios) {
    log(`scenario ${name}`);
    const table = await SCENARIOS[name](ctx, sources);
    if (name === "large" && loopback !== undefined) {
      tables.push({
        ...table,
        notes: [
          ...table.notes,
          `Loopback TCP (${await iperf3Version()}, one stream, ` +
          `${sizes.iperfSeconds} s) carried ${
            Math.round(loopback).toLocaleString("en-US")
          } MB/s in the same run.`,
        ],
      });
    } else {
      tables.push(table);
    }
  }
  notes.push(...ctx.failures.map((f) => `FAILED: ${f}`));
  if (options.report !== undefined) {
    const chartPath = join(dirname(options.report), "benchmarks.svg");
    const large = tables.find((t) =>
      t.title.startsWith("One ") && t.title.endsWith("file")
    );
    const chart = large ? chartOf(large, tools) : undefined;
    Deno.mkdirSync(dirname(options.report), { recursive: true });
    if (chart !== undefined) Deno.writeTextFileSync(chartPath, chart);
    Deno.writeTextFileSync(
      options.report,
      renderReport({
        date: new Date(),
        quick: options.quick,
        runs: sizes.runs,
        machine: machine(scratch.description, load),
        tools: tools.map((t) => [t.name, t.description] as const),
        notes,
        chart: chart === undefined
          ? undefined
          : relative(dirname(options.report), chartPath),
      }, tables),
    );
    log(
      `wrote ${options.report}${
        chart === undefined ? "" : ` and ${chartPath}`
      }`,
    );
  }
  for (const note of notes) log(note);
  return ctx.failures.length === 0;
}

function chartOf(table: Table, tools: readonly Tool[]): string | undefined {
  const groups = table.rows.filter((r) => r.unit === "MB/s").map((row) => ({
    label: row.label,
    bars: tools.flatMap((t) => {
      const values = row.values.get(t.name);
      return values && values.length > 0
        ? [{ tool: t.name, value: summarize(values).median }]
        : [];
    }),
  }));
  if (groups.every((g) => g.bars.length === 0)) return undefined;
  return renderChart({
    title: `${table.title}: MB/s over 127.0.0.1`,
    unit: "MB/s",
    groups,
  });
}

function makeSources(
  dir: string,
  sizes: Sizes,
  log: (line: string) => void,
): Sources {
  const start = performance.now();
  Deno.mkdirSync(dir);
  const path = (name: string) => join(dir, name);
  writeChunks(path("random.bin"), randomChunks("random", sizes.bigBytes));
  writeChunks(path("text.log"), logTextChunks("text", sizes.bigBytes));
  writeTree(
    path("small"),
    nestedTree(sizes.smallFiles, sizes.smallBytes),
    "small",
  );
  writeTree(
    path("medium"),
    flatTree(4, sizes.mediumFiles, sizes.mediumBytes),
    "medium",
  );
  writeChunks(path("one.bin"), randomChunks("one", sizes.oneBytes));
  writeChunks(path("client.bin"), randomChunks("client", sizes.clientBytes));
  writeChunks(path("slow.bin"), randomChunks("slow", sizes.slowBytes));
  writeChunks(path("slow.log"), logTextChunks("slow-text", sizes.slowBytes));
  log(`data generated in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return {
    random: path("random.bin"),
    text: path("text.log"),
    smallTree: path("small"),
    mediumTree: path("medium"),
    one: path("one.bin"),
    clientFile: path("client.bin"),
    slowRandom: path("slow.bin"),
    slowText: path("slow.log"),
  };
}

function machine(scratch: string, load: string): string[] {
  const cpuinfo = Deno.readTextFileSync("/proc/cpuinfo");
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  const kib = Number(
    Deno.readTextFileSync("/proc/meminfo").match(/MemTotal:\s+(\d+)/)?.[1],
  );
  return [
    `Machine: ${model}, ${navigator.hardwareConcurrency} cores, ` +
    `${Math.round(kib / 1024 / 1024)} GiB memory, Linux ${Deno.osRelease()}; ` +
    `load average at start ${load}.`,
    `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}).`,
    `Files lived in ${scratch}; every server listened on a free port of 127.0.0.1.`,
  ];
}
