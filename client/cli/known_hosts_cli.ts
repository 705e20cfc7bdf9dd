/**
 * `fts known-hosts list|rm HOST[:PORT]`: the servers this user trusts
 * (known_hosts in the config folder), and forgetting one, as
 * `ssh-keygen -R` does, when its key was replaced on purpose.
 *
 * @module
 */

import { join } from "node:path";
import { type CliIo, failWith, writeText } from "../../common/cli_io.ts";
import { quoteName } from "../../protocol/names.ts";
import { configDir } from "../../common/config_dir.ts";
import {
  parseCommandLine,
  USAGE_STATUS,
  UsageError,
} from "../../common/usage_error.ts";
import {
  hostKey,
  KNOWN_HOSTS_FILE,
  KnownHosts,
} from "../connect/known_hosts.ts";
import { parseTarget } from "../connect/target.ts";
import { fileReason } from "../errors.ts";

/** The text of `fts known-hosts --help`. */
const KNOWN_HOSTS_USAGE = `Usage: fts known-hosts <command>

The servers you trust, one line per HOST:PORT with its key fingerprint, kept
in known_hosts in the config folder ($FTS_CONFIG_DIR, else
$XDG_CONFIG_HOME/fts, else ~/.config/fts).

Commands:
  list               print every stored server and fingerprint
  rm HOST[:PORT]     forget a server (default port 12345; IPv6 as [::1]:2000),
                     e.g. after its key was replaced on purpose; the next
                     connection asks again

Exit status: 0 success, 1 no such server or the file cannot be read,
2 usage error.
`;

/** Runs `fts known-hosts ARGS…` (without "known-hosts"); resolves to the exit code. */
export async function knownHostsCommand(
  args: string[],
  io: CliIo,
): Promise<number> {
  const fail = (message: string, status: number) =>
    failWith(io, message, status);
  let parsed;
  try {
    parsed = parseCommandLine({
      args,
      allowPositionals: true,
      strict: true,
      options: { help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return fail(
      `${error.message} (try "fts known-hosts --help")`,
      USAGE_STATUS,
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    writeText(io.stdout, KNOWN_HOSTS_USAGE);
    return 0;
  }
  const [command, ...rest] = positionals;
  const expected = command === "rm" ? 1 : 0;
  if (command !== "list" && command !== "rm") {
    return fail(
      command === undefined
        ? 'Missing command: list or rm (try "fts known-hosts --help")'
        : `Unknown command ${quoteName(command, 40)}: use list or rm`,
      USAGE_STATUS,
    );
  }
  if (rest.length !== expected) {
    return fail(
      command === "rm"
        ? "Give one HOST[:PORT] to forget: fts known-hosts rm HOST[:PORT]"
        : `"list" takes no arguments`,
      USAGE_STATUS,
    );
  }
  let known: KnownHosts;
  try {
    known = new KnownHosts(join(configDir({ env: io.env }), KNOWN_HOSTS_FILE));
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return fail(error.message, 1);
  }
  try {
    if (command === "list") {
      for (const { key, fingerprint } of await known.list()) {
        writeText(io.stdout, `${key} ${fingerprint}\n`);
      }
      return 0;
    }
    let key: string;
    try {
      const target = parseTarget(rest[0]!);
      key = hostKey(target.hostname, target.port);
    } catch (error) {
      if (!(error instanceof SyntaxError || error instanceof TypeError)) {
        throw error;
      }
      return fail(error.message, USAGE_STATUS);
    }
    if (!await known.remove(key)) {
      return fail(
        `No key stored for ${quoteName(key, 300)} in ${
          quoteName(known.file, 300)
        }`,
        1,
      );
    }
    writeText(
      io.stderr,
      `Forgot the key of ${quoteName(key, 300)} (${
        quoteName(known.file, 300)
      })\n`,
    );
    return 0;
  } catch (error) {
    const reason = fileReason(error);
    if (reason === undefined) throw error;
    return fail(
      `Cannot read or write ${quoteName(known.file, 300)}: ${reason}`,
      1,
    );
  }
}
