import { strict as assert } from "node:assert";
import { megabytesPerSecond, ratio, summarize } from "../../bench/stats.ts";

Deno.test("summarize gives the middle value of an odd count with min and max", () => {
  assert.deepEqual(summarize([5, 1, 3]), {
    median: 3,
    min: 1,
    max: 5,
    count: 3,
  });
});

Deno.test("summarize gives the mean of the two middle values of an even count", () => {
  assert.deepEqual(summarize([4, 1, 10, 2]), {
    median: 3,
    min: 1,
    max: 10,
    count: 4,
  });
});

Deno.test("summarize refuses an empty series and values that are not finite", () => {
  assert.throws(() => summarize([]), RangeError);
  assert.throws(() => summarize([1, NaN]), RangeError);
  assert.throws(() => summarize([Infinity]), RangeError);
});

Deno.test("ratio divides fts's median by the peer's and is undefined without both", () => {
  assert.equal(ratio(summarize([300, 320, 310]), summarize([200])), 1.55);
  assert.equal(ratio(undefined, summarize([1])), undefined);
  assert.equal(ratio(summarize([1]), undefined), undefined);
  assert.equal(ratio(summarize([1]), summarize([0])), undefined);
});

Deno.test("megabytesPerSecond counts 10^6 bytes per second", () => {
  assert.equal(megabytesPerSecond(1024 * 1024 * 1024, 2), 536.870912);
});
