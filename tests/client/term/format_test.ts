import assert from "node:assert/strict";
import {
  displayName,
  formatDuration,
  formatRate,
  formatSize,
  formatTime,
} from "../../../client/term/format.ts";

Deno.test("formatSize() uses binary units with three significant digits", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1), "1 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1024), "1.00 KiB");
  assert.equal(formatSize(1536), "1.50 KiB");
  assert.equal(formatSize(10 * 1024 * 1024 + 300 * 1024), "10.3 MiB");
  assert.equal(formatSize(100 * 1024 ** 3), "100 GiB");
  assert.equal(formatSize(1024 ** 2 - 1), "1.00 MiB");
  assert.equal(formatSize(5 * 1024 ** 4), "5.00 TiB");
  assert.equal(formatSize(-1), "? B");
});

Deno.test("formatRate() appends /s", () => {
  assert.equal(formatRate(1024 ** 3 * 1.2), "1.20 GiB/s");
});

Deno.test("formatDuration() switches from seconds to a clock", () => {
  assert.equal(formatDuration(250), "0.25 s");
  assert.equal(formatDuration(3140), "3.1 s");
  assert.equal(formatDuration(42_000), "42 s");
  assert.equal(formatDuration(65_000), "1:05");
  assert.equal(formatDuration(3_723_000), "1:02:03");
  assert.equal(formatDuration(Infinity), "?");
});

Deno.test("formatTime() shows local date and minutes, and - for unknown", () => {
  const ms = new Date(2024, 4, 1, 14, 3).getTime();
  assert.equal(formatTime(ms), "2024-05-01 14:03");
  assert.equal(formatTime(0), "-");
});

Deno.test("displayName() escapes terminal controls and never returns them raw", () => {
  assert.equal(displayName("a b.txt"), "a b.txt");
  const shown = displayName("evil\x1b[2J\u202etxt.exe");
  assert.equal(shown, "evil\\u{1b}[2J\\u{202e}txt.exe");
  // deno-lint-ignore no-control-regex -- the test looks for raw escapes
  assert.doesNotMatch(shown, /[\x00-\x1f\u202e]/);
});
