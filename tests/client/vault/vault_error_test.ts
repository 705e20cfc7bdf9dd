import assert from "node:assert/strict";
import { VaultError } from "../../../client/vault/vault_error.ts";

Deno.test("VaultError.decrypting() keeps what went wrong apart from the action, for callers that name the action", () => {
  const error = VaultError.decrypting("no_identity", "wrong passphrase", {
    passphrase: true,
  });
  assert.equal(error.message, "Cannot decrypt: wrong passphrase");
  assert.equal(error.detail, "wrong passphrase");
  assert.equal(error.code, "bad_request");
  assert.equal(error.passphrase, true);
  // Not a decryption: the detail is the message.
  const key = new VaultError("invalid_key", "No identity in identity.txt");
  assert.equal(key.detail, "No identity in identity.txt");
});
