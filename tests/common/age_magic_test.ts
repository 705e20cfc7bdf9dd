import assert from "node:assert/strict";
import { Encrypter } from "age-encryption";
import { AGE_MAGIC, startsLikeAge } from "../../common/age_magic.ts";

Deno.test("startsLikeAge() knows a file the age library wrote and nothing shorter or different", async () => {
  const encrypter = new Encrypter();
  encrypter.setPassphrase("correct horse");
  encrypter.setScryptWorkFactor(1);
  const sealed = await encrypter.encrypt("hello");
  assert.equal(startsLikeAge(sealed), true);
  assert.equal(startsLikeAge(AGE_MAGIC), true);
  assert.equal(
    startsLikeAge(AGE_MAGIC.subarray(0, AGE_MAGIC.length - 1)),
    false,
  );
  const other = AGE_MAGIC.slice();
  other[4] = 0x41;
  assert.equal(startsLikeAge(other), false);
  assert.equal(startsLikeAge(new Uint8Array(0)), false);
});
