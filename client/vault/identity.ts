/**
 * The user's age identity on disk: `identity.txt` in the fts config folder,
 * in age-keygen's format (so `age -d -i ~/.config/fts/identity.txt` works),
 * file mode 0600 in a 0700 folder.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { configDir, type EnvReader } from "../../common/config_dir.ts";
import { ensurePrivateDir } from "../../common/private_files.ts";
import { FtsError } from "../../protocol/errors.ts";
import { fileReason } from "../errors.ts";
import {
  AgeIdentity,
  formatIdentityFile,
  parseIdentityFile,
} from "./age_keys.ts";

/** File name of the identity inside the config folder. */
const IDENTITY_FILE = "identity.txt";

/** The path of the identity file in the config folder (see common/config_dir.ts). */
export function identityPath(env: EnvReader): string {
  return join(configDir({ env }), IDENTITY_FILE);
}

/** Options of {@linkcode saveIdentity}. */
export interface SaveIdentityOptions {
  /** Replace an existing file; default false (refuse). */
  force?: boolean;
  /** The clock for the `# created:` line; default `() => new Date()`. */
  now?: () => Date;
}

/**
 * Writes `identity` to `path` atomically: a temporary file (mode 0600,
 * fsynced) in the same folder, then linked into place (refusing an existing
 * file) or, with `force`, renamed over it. Creates the folder with mode 0700
 * if missing. Throws `FtsError` "exists" when `path` exists and `force` is
 * not set, "io" for other file errors.
 */
async function saveIdentity(
  path: string,
  identity: AgeIdentity,
  options: SaveIdentityOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const text = formatIdentityFile(identity, (options.now ?? now)());
  const temp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await ensurePrivateDir(dir);
    {
      using file = await Deno.open(temp, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
      await writeAll(file, new TextEncoder().encode(text));
      await file.sync();
    }
    if (options.force) {
      await Deno.rename(temp, path);
    } else {
      await Deno.link(temp, path);
    }
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new FtsError(
        "exists",
        `Cannot create identity: ${JSON.stringify(path)} already exists`,
        { cause: error },
      );
    }
    throw new FtsError(
      "io",
      `Cannot save identity to ${JSON.stringify(path)}: ${describe(error)}`,
      { cause: error },
    );
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/**
 * Generates a new X25519 identity and saves it to `path` (see
 * {@linkcode saveIdentity} for options and errors).
 */
export async function generateIdentity(
  path: string,
  options: SaveIdentityOptions = {},
): Promise<AgeIdentity> {
  const identity = await AgeIdentity.generate();
  await saveIdentity(path, identity, options);
  return identity;
}

/**
 * Reads the identities in the file at `path`. Throws `FtsError`
 * "not_found" when it does not exist, "io" when it cannot be read, and a
 * `VaultError` when it holds no valid identity (naming the line, never its
 * content).
 */
export async function loadIdentities(path: string): Promise<AgeIdentity[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FtsError(
        "not_found",
        `Cannot read identity: ${JSON.stringify(path)} does not exist`,
        { cause: error },
      );
    }
    throw new FtsError(
      "io",
      `Cannot read identity ${JSON.stringify(path)}: ${describe(error)}`,
      { cause: error },
    );
  }
  return await parseIdentityFile(text, JSON.stringify(path));
}

function now(): Date {
  return new Date();
}

function describe(error: unknown): string {
  return fileReason(error) ??
    (error instanceof Error ? error.message : String(error));
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}
