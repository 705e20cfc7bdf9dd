import assert from "node:assert/strict";
import { ProgressBar } from "../../../client/term/progress.ts";
import { Buffer } from "../../_helpers/client/cli_io.ts";

function fakeClock(start = 1000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

const MiB = 1024 * 1024;

Deno.test("ProgressBar draws bytes, percent, rate and ETA in place", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: '"big.iso"', clock, columns: 100 });
  clock.t += 1000;
  bar.update(100 * MiB, 400 * MiB);
  const text = out.text();
  assert.ok(text.startsWith("\r"));
  assert.ok(text.endsWith("\x1b[K"));
  assert.match(
    text,
    // deno-lint-ignore no-control-regex -- the test looks for raw escapes
    /"big\.iso" {2}25% \[=======> {22}\] {3}100 MiB \/ 400 MiB {3}100 MiB\/s {2}ETA 3\.0 s {2}\x1b\[K$/,
  );
});

Deno.test("ProgressBar redraws at most every 100 ms of the injected clock", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: "x", clock });
  for (let i = 1; i <= 100; i++) {
    clock.t += 10; // 100 updates over one second
    bar.update(i * MiB, 100 * MiB);
  }
  const draws = out.text().split("\r").length - 1;
  assert.ok(draws >= 9 && draws <= 11, `${draws} redraws`);
});

Deno.test("ProgressBar.finish() replaces the bar with a summary line", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: '"a.bin"', clock });
  clock.t += 500;
  bar.update(512 * MiB, 1024 * MiB);
  clock.t += 1500;
  bar.update(1024 * MiB, 1024 * MiB);
  bar.finish();
  const lines = out.text().split("\r\x1b[K");
  assert.equal(lines.at(-1), '"a.bin": 1.00 GiB in 2.0 s, 512 MiB/s\n');
  bar.finish();
  bar.update(1, 1);
  assert.equal(out.text().split("\n").length, 2, "nothing after finish");
});

Deno.test("ProgressBar.clear() erases the bar without a summary", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: "x", clock });
  bar.update(1, 2);
  bar.clear();
  assert.ok(out.text().endsWith("\r\x1b[K"));
  assert.doesNotMatch(out.text(), /\n/);
});

Deno.test("ProgressBar rate follows recent speed, not the average since start", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: "x", clock });
  // 10 s at 1 MiB/s, then 10 s at 100 MiB/s.
  let bytes = 0;
  for (let s = 0; s < 20; s++) {
    clock.t += 1000;
    bytes += s < 10 ? MiB : 100 * MiB;
    bar.update(bytes, 10_000 * MiB);
  }
  assert.ok(Math.abs(bar.rate() / MiB - 100) < 1, `${bar.rate() / MiB} MiB/s`);
});

Deno.test("ProgressBar keeps its layout while the numbers change", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: '"file.bin"', clock, columns: 70 });
  for (let i = 1; i <= 10; i++) {
    clock.t += 1000;
    bar.update(i * 30 * MiB + i * 12345, 300 * MiB);
  }
  const draws = out.text().split("\r").filter(Boolean);
  assert.equal(draws.length, 10);
  const bars = draws.map((d) => d.indexOf("["));
  assert.deepEqual(
    new Set(bars).size,
    1,
    "the bar starts at the same column each time",
  );
  assert.equal(
    new Set(draws.map((d) => d.length)).size,
    1,
    "same width each time",
  );
});

Deno.test("ProgressBar never draws wider than the terminal", () => {
  for (const columns of [20, 40, 80]) {
    const out = new Buffer(true);
    const clock = fakeClock();
    const bar = new ProgressBar({
      out,
      label: `"${"long name ".repeat(20)}"`,
      clock,
      columns,
    });
    clock.t += 1000;
    bar.update(5 * MiB, 10 * MiB);
    // deno-lint-ignore no-control-regex -- the test looks for raw escapes
    const line = out.text().replace(/^\r/, "").replace(/\x1b\[K$/, "");
    assert.ok(Array.from(line).length <= columns - 1, `${columns}: ${line}`);
    if (columns >= 40) assert.match(line, /50%/);
  }
});

Deno.test("ProgressBar counts the files of a folder, with + and no ETA while the total may grow", () => {
  const out = new Buffer(true);
  const clock = fakeClock();
  const bar = new ProgressBar({ out, label: '"photos"', clock, columns: 120 });
  clock.t += 1000;
  bar.update(1 * MiB, 4 * MiB, { done: 3, total: 40, more: true });
  assert.match(
    out.text(),
    /"photos" +25% \[=+> *\] 3\/40\+ files +1\.00 MiB \/ 4\.00 MiB\+ +1\.00 MiB\/s {2}ETA \? /,
  );
  clock.t += 1000;
  bar.update(2 * MiB, 4 * MiB, { done: 20, total: 40, more: false });
  assert.match(
    out.text(),
    /20\/40 files +2\.00 MiB \/ 4\.00 MiB +.*ETA 2\.0 s/,
  );
  bar.update(4 * MiB, 4 * MiB, { done: 40, total: 40, more: false });
  bar.finish();
  assert.match(
    out.text(),
    /"photos": 40 files, 4\.00 MiB in 2\.0 s, 2\.00 MiB\/s\n$/,
  );
});
