/**
 * Helpers for the security tests: users written with a cheap scrypt cost,
 * TLS identities made once per file, and (re-exported) temporary folders
 * and `fts` run as a subprocess.
 *
 * @module
 */

import { join } from "node:path";
import { type Accounts, loadAccounts } from "../../../server/auth/accounts.ts";
import { ScryptHasher } from "../../../server/auth/password_hash.ts";
import type { Permission } from "../../../server/auth/permissions.ts";
import {
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../../../server/tls/tls_identity.ts";

export {
  FtsProcess,
  MAIN,
  runFts,
  type RunOptions,
  type RunResult,
} from "../e2e/fts_process.ts";
export { type TempDir, tempDir } from "../common/temp_dir.ts";

/** A user to create: the password and the permissions. */
export interface TestUser {
  readonly password: string;
  readonly perms: readonly Permission[];
}

/**
 * Writes `users` to the user store in `stateDir`, hashed at a low scrypt
 * cost so that tests stay quick (the file format is the real one).
 */
export async function addUsers(
  stateDir: string,
  users: Record<string, TestUser>,
): Promise<Accounts> {
  const accounts = await loadAccounts(stateDir, {
    hasher: new ScryptHasher({ params: { logN: 10, r: 8, p: 1 } }),
  });
  for (const [name, user] of Object.entries(users)) {
    await accounts.add(name, user.password, user.perms);
  }
  return accounts;
}

const identities = new Map<string, Promise<TlsIdentity>>();

/**
 * A generated server identity, made once per name and test file: "a" and
 * "b" are two different keys.
 */
export function testIdentity(name = "a"): Promise<TlsIdentity> {
  let made = identities.get(name);
  if (!made) {
    made = (async () => {
      const dir = await Deno.makeTempDir({ prefix: "fts_identity_" });
      try {
        return await loadOrCreateIdentity(join(dir, name));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    })();
    identities.set(name, made);
  }
  return made;
}
