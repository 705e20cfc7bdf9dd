/**
 * `deno task bench`: fts against the file transfer tools people use, over
 * 127.0.0.1 on a private tmpfs, every transfer checked byte for byte;
 * writes docs/BENCHMARKS.md and docs/benchmarks.svg.
 *
 *   deno task bench [--quick] [--runs N] [--tools fts,sftp,…]
 *                   [--scenarios large,folders,one,many,slow,resume]
 *                   [--report FILE | --no-report]
 *   deno task bench --only fts [OPTIONS]   fts alone (see bench/fts_only.ts)
 *   deno task bench --only memory [OPTIONS]
 *                   server and client memory, several clients moving large
 *                   files at once (see bench/fts_memory.ts)
 *
 * Peers, each skipped with a note when not installed (`deno task
 * bench:setup` installs them): sftp, scp, rsync-ssh (an own sshd), rsyncd
 * (rsync --daemon), https (nginx + curl), ftp (vsftpd + curl), and cp;
 * iperf3 measures the loopback limit. `--quick` uses small sizes and one
 * run (about a minute) to show that everything works.
 *
 * Exits 1 when a tool failed or moved wrong bytes (the figures of the
 * others are still written).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runFtsMemory } from "./fts_memory.ts";
import { runFtsOnly } from "./fts_only.ts";
import { FULL, QUICK } from "./sizes.ts";
import { runSuite, type ScenarioName, SCENARIOS } from "./suite.ts";

const REPORT = new URL("../docs/BENCHMARKS.md", import.meta.url).pathname;

if (import.meta.main) {
  const at = Deno.args.indexOf("--only");
  if (at >= 0) {
    const only = Deno.args[at + 1];
    const rest = Deno.args.filter((_, i) => i !== at && i !== at + 1);
    if (only === "fts") await runFtsOnly(rest);
    else if (only === "memory") await runFtsMemory(rest);
    else {
      console.error("fts bench: --only takes fts or memory");
      Deno.exit(2);
    }
  } else {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        quick: { type: "boolean", default: false },
        runs: { type: "string" },
        tools: { type: "string" },
        scenarios: { type: "string" },
        report: { type: "string", default: REPORT },
        "no-report": { type: "boolean", default: false },
      },
    });
    const base = values.quick ? QUICK : FULL;
    const runs = values.runs === undefined ? base.runs : Number(values.runs);
    if (!Number.isSafeInteger(runs) || runs < 1) {
      console.error("fts bench: --runs must be a positive whole number");
      Deno.exit(2);
    }
    const scenarios = (values.scenarios?.split(",") ??
      Object.keys(SCENARIOS)) as ScenarioName[];
    const unknown = scenarios.filter((s) => !Object.hasOwn(SCENARIOS, s));
    if (unknown.length > 0) {
      console.error(`fts bench: unknown scenario "${unknown[0]}"`);
      Deno.exit(2);
    }
    const ok = await runSuite({
      sizes: { ...base, runs },
      quick: values.quick,
      tools: values.tools?.split(","),
      scenarios,
      report: values["no-report"] ? undefined : values.report,
      log: (line) => console.log(line),
    });
    if (!ok) Deno.exit(1);
  }
}
