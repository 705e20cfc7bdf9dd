import assert from "node:assert/strict";
import { withoutAgeSuffix } from "../../../client/engine/download.ts";
import { plainReadSize } from "../../../client/engine/sealed_upload.ts";
import { AgeIdentity } from "../../../client/vault/age_keys.ts";
import { AgeEncryptor } from "../../../client/vault/encryptor.ts";
import { join } from "node:path";
import { FtsError } from "../../../protocol/errors.ts";
import {
  readSettings,
  sealOptionsFor,
} from "../../../client/shell/vault_settings.ts";

Deno.test("readSettings() reads encrypt, skips comments and unknown keys", () => {
  assert.deepEqual(readSettings("", "config"), {});
  assert.deepEqual(
    readSettings("# fts\n\n  encrypt = true  \ncolour = never\n", "config"),
    { encrypt: true },
  );
  assert.deepEqual(readSettings("encrypt=no\r\n", "config"), {
    encrypt: false,
  });
});

Deno.test("readSettings() names the line of a malformed setting", () => {
  assert.throws(
    () => readSettings("# ok\nencrypt: true\n", "/c/config"),
    {
      message:
        'Cannot read the settings "/c/config" line 2: expected "key = value"',
    },
  );
  assert.throws(
    () => readSettings("encrypt = sometimes\n", "/c/config"),
    {
      message:
        'Cannot read the settings "/c/config" line 1: encrypt must be true or false',
    },
  );
});

Deno.test("withoutAgeSuffix() drops .age only when a valid name is left", () => {
  assert.equal(withoutAgeSuffix("report.pdf.age"), "report.pdf");
  assert.equal(withoutAgeSuffix("report.pdf"), "report.pdf");
  assert.equal(withoutAgeSuffix(".age"), ".age");
  assert.equal(withoutAgeSuffix("..age"), "..age");
  assert.equal(withoutAgeSuffix("x.AGE"), "x.AGE");
});

Deno.test("plainReadSize() fills a DATA chunk with whole age chunks, header included", async () => {
  const identity = await AgeIdentity.generate();
  const enc = await AgeEncryptor.create({ recipients: [identity.recipient] });
  const read = plainReadSize(1024 * 1024, enc);
  assert.equal(read, 15 * 65536);
  // The first push carries the header and nonce; it must still fit.
  assert.ok(enc.maxPushSize(read) <= 1024 * 1024);
  assert.ok(enc.maxPushSize(read + 65536) > 1024 * 1024);
  // Chunks smaller than one sealed age chunk: one age chunk, split later.
  assert.equal(plainReadSize(1000, enc), 65536);
});

Deno.test("sealOptionsFor() words an unreadable settings file in a few words, not the system's text", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fts_vault_settings_" });
  try {
    const path = join(dir, "fts", "config");
    await Deno.mkdir(path, { recursive: true });
    const env = (name: string) => name === "XDG_CONFIG_HOME" ? dir : undefined;
    await assert.rejects(
      sealOptionsFor(undefined, { env }),
      (error: unknown) => {
        assert.ok(error instanceof FtsError);
        assert.equal(error.code, "io");
        assert.equal(
          error.message,
          `Cannot read the settings ${JSON.stringify(path)}: it is a folder`,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
