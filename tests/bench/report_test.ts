import { strict as assert } from "node:assert";
import {
  cell,
  formatNumber,
  renderReport,
  type Table,
} from "../../bench/report.ts";
import { summarize } from "../../bench/stats.ts";

const META = {
  date: new Date("2026-12-03T14:00:00Z"),
  quick: false,
  runs: 3,
  machine: ["Machine: test"],
  tools: [["fts", "fts 0.1.0"], ["sftp", "OpenSSH | 9"], ["cp", "cp"]] as const,
  notes: ["Skipped ftp: vsftpd is not installed."],
  chart: "benchmarks.svg",
};

const TABLE: Table = {
  title: "One 1 GiB file",
  notes: ["Note."],
  rows: [{
    label: "random, up",
    unit: "MB/s",
    values: new Map([["fts", [300, 330, 310]], ["sftp", [200, 190, 210]]]),
  }],
};

Deno.test("a cell shows the median with min–max, or one value for one run", () => {
  assert.equal(cell(summarize([300, 330, 310])), "310 (300–330)");
  assert.equal(cell(summarize([0.2761])), "0.276");
  assert.equal(cell(undefined), "");
  assert.equal(formatNumber(1683.4), "1,683");
  assert.equal(formatNumber(12.34), "12.3");
});

Deno.test("the report has the run's facts, one column per tool with figures, and fts ÷ peer", () => {
  const text = renderReport(META, [TABLE]);
  assert.match(text, /on 2026-12-03 14:00 UTC/);
  assert.match(text, /3 runs per tool/);
  assert.match(text, /!\[Benchmark chart\]\(benchmarks\.svg\)/);
  assert.match(text, /\| sftp \| OpenSSH \\\| 9 \|/);
  // cp has no figures in this table, so no column.
  assert.match(text, /\n\| \| fts \| sftp \|\n/);
  assert.match(
    text,
    /\| random, up, MB\/s \| 310 \(300–330\) \| 200 \(190–210\) \|/,
  );
  assert.match(text, /\| random, up \| 1\.55× \|/);
  assert.match(text, /- Skipped ftp: vsftpd is not installed\./);
  assert.doesNotMatch(text, /quick run/i);
});

Deno.test("a quick run's report says its figures are not to be quoted", () => {
  const text = renderReport({ ...META, quick: true }, [TABLE]);
  assert.match(text, /bench --quick/);
  assert.match(text, /do not quote these figures/);
});
