import assert from "node:assert/strict";
import { formatSize, parseSize } from "../../common/sizes.ts";

Deno.test("parseSize() reads bytes, 1024-based K M G T with or without i and B, and 1000-based KB MB GB TB", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["512", 512],
    ["512B", 512],
    ["1K", 1024],
    ["1k", 1024],
    ["1Ki", 1024],
    ["1KiB", 1024],
    ["1KB", 1000],
    ["700M", 700 * 1024 ** 2],
    ["10G", 10 * 1024 ** 3],
    ["10 GiB", 10 * 1024 ** 3],
    ["10GB", 10_000_000_000],
    ["1.5T", 1.5 * 1024 ** 4],
    ["2TB", 2e12],
    ["1.5K", 1536],
    ["0.3K", 307],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

Deno.test("parseSize() refuses what is not a size with a RangeError naming the units", () => {
  for (
    const text of [
      "",
      "G",
      "-1G",
      "10X",
      "10iB",
      "1e3",
      "10GBB",
      "10 G B",
      "9P9",
    ]
  ) {
    assert.throws(() => parseSize(text), RangeError, text);
  }
  assert.throws(() => parseSize("9000P"), /larger than 8 PiB/);
  assert.throws(() => parseSize("lots"), /K, M, G or T/);
});

Deno.test("formatSize() and parseSize() agree on the units", () => {
  assert.equal(formatSize(parseSize("10G")), "10.0 GiB");
  assert.equal(formatSize(parseSize("700M")), "700 MiB");
  assert.equal(formatSize(parseSize("1.5KiB")), "1.50 KiB");
});
