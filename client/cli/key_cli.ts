/**
 * `fts key …`: manage the user's age identity for end-to-end encrypted files.
 *
 * - `fts key gen [--force]` creates an X25519 identity in the config folder
 *   (`identity.txt`, mode 0600) and prints its public key.
 * - `fts key show` prints the public key (`age1…`), for others to encrypt to.
 *
 * The secret key is never printed.
 *
 * @module
 */

import type { CliIo } from "../../common/cli_io.ts";
import { FtsError } from "../../protocol/errors.ts";
import {
  parseCommandLine,
  USAGE_STATUS,
  UsageError,
} from "../../common/usage_error.ts";
import {
  generateIdentity,
  identityPath,
  loadIdentities,
} from "../vault/identity.ts";

/** Terminal streams and environment of a command (Deno's satisfy it). */
export type { CliIo };

const USAGE = `Usage: fts key <command>

Manage your age identity, used by "put --encrypt" and "get".

Commands:
  gen [--force]  Create your identity in the config folder and print its
                 public key (--force replaces an existing one: files
                 encrypted to the old key can then no longer be decrypted)
  show           Print your public key (age1…) for others to encrypt to

The config folder is $FTS_CONFIG_DIR, else $XDG_CONFIG_HOME/fts, else
~/.config/fts. The identity file works with "age -d -i FILE".
`;

/**
 * Runs `fts key ARGS…` (ARGS without "key"); returns the exit code: 0 done,
 * 1 failed, 2 usage error.
 */
export async function keyCommand(args: string[], io: CliIo): Promise<number> {
  try {
    return await run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      write(io.stderr, `fts key: ${error.message} (see "fts key --help")\n`);
      return USAGE_STATUS;
    }
    if (!(error instanceof FtsError)) throw error;
    write(io.stderr, `fts: ${error.message}\n`);
    return 1;
  }
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || positionals[0] === "help") {
    write(io.stdout, USAGE);
    return 0;
  }
  const [command, ...extra] = positionals;
  if (command === undefined) throw new UsageError("Missing command");
  if (extra.length > 0) {
    throw new UsageError(`Unexpected argument ${JSON.stringify(extra[0])}`);
  }
  if (values.force && command !== "gen") {
    throw new UsageError(`Option --force applies to "gen" only`);
  }
  switch (command) {
    case "gen":
      return await gen(io, values.force);
    case "show":
      return await show(io);
    default:
      throw new UsageError(`Unknown command ${JSON.stringify(command)}`);
  }
}

async function gen(io: CliIo, force: boolean): Promise<number> {
  const path = identityPath(io.env);
  try {
    const identity = await generateIdentity(path, { force });
    write(
      io.stdout,
      `Created identity ${
        JSON.stringify(path)
      }: keep it secret and back it up.\n` +
        `Public key: ${identity.recipient}\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof FtsError && error.code === "exists") {
      write(
        io.stderr,
        `fts: Cannot create identity: ${JSON.stringify(path)} already exists ` +
          `(files encrypted to it need it; use --force to replace it)\n`,
      );
      return 1;
    }
    throw error;
  }
}

async function show(io: CliIo): Promise<number> {
  const path = identityPath(io.env);
  try {
    const identities = await loadIdentities(path);
    for (const identity of identities) {
      write(io.stdout, `${identity.recipient}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof FtsError && error.code === "not_found") {
      write(
        io.stderr,
        `fts: Cannot show key: no identity in ${
          JSON.stringify(path)
        } (create one with "fts key gen")\n`,
      );
      return 1;
    }
    throw error;
  }
}

function write(
  stream: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  while (at < bytes.length) at += stream.writeSync(bytes.subarray(at));
}
