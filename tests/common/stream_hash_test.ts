import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createStreamHash, hashBytes } from "../../common/stream_hash.ts";

/** 3,000,000 bytes whose hashes were computed with xxh128sum and sha256sum. */
function pattern(): Uint8Array {
  const data = new Uint8Array(3_000_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  return data;
}
const PATTERN_XXH128 = "4e46536e7998c1ac8cf647b0a14f596a";
const PATTERN_SHA256 =
  "3f373df6c0a5a6c30b2e54e392d4914341a43be89d43bacde82bd48506cba305";

Deno.test("hashBytes() matches xxh128sum and sha256sum", () => {
  const hello = new TextEncoder().encode("hello");
  assert.equal(hashBytes("xxh128", hello), "b5e9c1ad071b3e7fc779cfaa5e523818");
  assert.equal(
    hashBytes("xxh128", new Uint8Array(0)),
    "99aa06d3014798d86001c324468d497f",
  );
  assert.equal(hashBytes("xxh128", pattern()), PATTERN_XXH128);
  assert.equal(hashBytes("sha256", pattern()), PATTERN_SHA256);
  assert.equal(
    hashBytes("sha256", hello),
    createHash("sha256").update(hello).digest("hex"),
  );
});

Deno.test("XXH3-128 streams updated in turn, in uneven pieces, keep their own state", () => {
  const data = pattern();
  const streams = [0, 1, 2].map(() => createStreamHash("xxh128"));
  const cuts = [0, 1, 17, 4096, 65_537, 1_000_000, 2_999_999, 3_000_000];
  for (let c = 1; c < cuts.length; c++) {
    // Each stream takes the shared instance from the one before.
    for (const s of streams) s.update(data.subarray(cuts[c - 1], cuts[c]));
  }
  const other = createStreamHash("xxh128").update(data.subarray(0, 5));
  assert.deepEqual(streams.map((s) => s.digest()), [
    PATTERN_XXH128,
    PATTERN_XXH128,
    PATTERN_XXH128,
  ]);
  assert.equal(other.digest(), hashBytes("xxh128", data.subarray(0, 5)));
});

Deno.test("a digested stream hash refuses more data", () => {
  const hash = createStreamHash("xxh128");
  hash.digest();
  assert.throws(() => hash.update(new Uint8Array(1)), TypeError);
  assert.throws(() => createStreamHash("md5" as "sha256"), TypeError);
});
