/**
 * `fts user add|del|list|passwd|perm|quota`: manages the accounts in the
 * state folder. Passwords come from `--password-file`, `FTS_PASSWORD` or the
 * terminal, never from the command line.
 *
 * @module
 */

import { join } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import {
  type Accounts,
  loadAccounts,
  validateUserName,
} from "../auth/accounts.ts";
import { type CliIo, writeText } from "../../common/cli_io.ts";
import type { PasswordHasher } from "../auth/password_hash.ts";
import {
  lstatOrNull,
  openOwnFolder,
  STATE_DIR,
} from "../storage/local/rooted_paths.ts";
import {
  DEFAULT_USER_PERMISSIONS,
  formatPermissions,
  parsePermissions,
  type Permission,
} from "../auth/permissions.ts";
import { PASSWORD_ENV, readSecret } from "../../common/secret_input.ts";
import { formatSize, parseSize } from "../../common/sizes.ts";
import { readOwners } from "../storage/owner_journal.ts";
import { RootedPaths } from "../storage/local/rooted_paths.ts";
import { walkFiles } from "../storage/local/file_walk.ts";
import {
  parseCommandLine,
  USAGE_STATUS,
  UsageError,
} from "../../common/usage_error.ts";

/** Default data root, as `fts serve` uses. */
const DEFAULT_ROOT = "./dados";

const USAGE = `Usage: fts user <command> [options]

Commands:
  add NAME      Create a user (asks for the password twice)
  del NAME      Remove a user
  list          Show the users, their permissions, the bytes of the files
                each uploaded that are still stored, and their quotas
  passwd NAME   Change a user's password
  perm NAME     Change a user's permissions (needs --perm)
  quota NAME    Change a user's quota (needs --quota)

Options:
  --perm LIST           Permissions, from read,write,delete,admin
                        (add defaults to ${DEFAULT_USER_PERMISSIONS.join(",")})
  --quota SIZE          Bytes the files the user uploads may take together,
                        e.g. 500M, 10G, 1.5T (K, M, G, T are 1024-based, KB,
                        MB, GB, TB 1000-based); "none" removes the quota
  --password-file FILE  Read the password from the first line of FILE
  --root DIR            Server data folder (default ${DEFAULT_ROOT}); it must
                        exist: run this where the server's root is, or name it
  --state DIR           State folder (default ROOT/${STATE_DIR}); only "add"
                        creates it
  -h, --help            Show this help

The password may also come from the ${PASSWORD_ENV} environment variable.
It is never accepted on the command line.

A running server applies each change to open connections at their next
request: new permissions count at once; a removed user, or one whose
password changed, is disconnected; anonymous connections end when the
first user is added.
`;

/** Options of {@linkcode userCommand}, for tests. */
export interface UserCommandOptions {
  /** Password hasher; default the scrypt hasher at full cost. */
  hasher?: PasswordHasher;
}

type Command = "add" | "del" | "list" | "passwd" | "perm" | "quota";

interface Parsed {
  command: Command;
  name: string;
  perms: Permission[] | undefined;
  /** Bytes, null for "none", undefined when not given. */
  quota: number | null | undefined;
  passwordFile: string | undefined;
  stateDir: string;
  /** The server root that must exist; null when `--state` names the folder. */
  root: string | null;
  /** The root whose files `list` counts; null when unknown. */
  usageRoot: string | null;
}

/**
 * Runs `fts user …` with `args` (the words after `user`). Returns the exit
 * code: 0 done, 1 the operation failed, 2 usage error. Errors are one line
 * on stderr; no password or hash is ever printed.
 *
 * @example
 * ```ts
 * Deno.exit(await userCommand(Deno.args.slice(1), io));
 * ```
 */
export async function userCommand(
  args: string[],
  io: CliIo,
  options: UserCommandOptions = {},
): Promise<number> {
  let parsed: Parsed | "help";
  try {
    parsed = parse(args);
  } catch (error) {
    if (error instanceof UsageError) {
      writeText(io.stderr, `fts: ${error.message}\n`);
      return USAGE_STATUS;
    }
    throw error;
  }
  if (parsed === "help") {
    writeText(io.stdout, USAGE);
    return 0;
  }
  try {
    await checkWhere(parsed);
    // An existing state folder must be this user's own (openOwnFolder);
    // only `add` creates a missing one.
    using held = new DisposableStack();
    const state = lstatOrNull(parsed.stateDir) !== null
      ? held.use(openOwnFolder(parsed.stateDir))
      : null;
    const accounts = await loadAccounts(parsed.stateDir, {
      ...(options.hasher ? { hasher: options.hasher } : {}),
      ...(state ? { through: state.path } : {}),
    });
    await run(parsed, accounts, io, state?.path ?? parsed.stateDir);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    writeText(io.stderr, `fts: ${firstLine(message)}\n`);
    return 1;
  }
}

async function run(
  p: Parsed,
  accounts: Accounts,
  io: CliIo,
  stateDir: string,
): Promise<void> {
  const quoted = `"${p.name}"`;
  switch (p.command) {
    case "list": {
      const users = accounts.list();
      if (users.length === 0) {
        if (io.stdout.isTerminal()) writeText(io.stdout, "No users\n");
        return;
      }
      const used = p.usageRoot === null
        ? null
        : await usageByAccount(p.usageRoot, stateDir);
      const rows = users.map((u) => [
        u.name,
        formatPermissions(u.perms),
        used === null ? "" : `${formatSize(used.get(u.name) ?? 0)} used`,
        u.quota === undefined ? "no quota" : `quota ${formatSize(u.quota)}`,
      ]);
      const widths = [0, 1, 2].map((i) =>
        Math.max(...rows.map((r) => r[i]!.length))
      );
      for (const row of rows) {
        const cells = row.map((cell, i) =>
          i < 3 ? cell.padEnd(widths[i]!) : cell
        ).filter((cell) => cell.trim() !== "");
        writeText(io.stdout, `${cells.join("  ")}\n`);
      }
      return;
    }
    case "quota": {
      await accounts.setQuota(p.name, p.quota ?? null);
      writeText(
        io.stdout,
        p.quota == null
          ? `Removed the quota of user ${quoted}\n`
          : `Set the quota of user ${quoted} to ${formatSize(p.quota)}\n`,
      );
      return;
    }
    case "add": {
      if (accounts.get(p.name)) {
        throw new FtsError(
          "exists",
          `Cannot add user ${quoted}: the user already exists`,
        );
      }
      const password = await readSecret(io, {
        passwordFile: p.passwordFile,
        prompt: `Password for ${quoted}: `,
        confirmPrompt: "Repeat the password: ",
      });
      const perms = p.perms ?? [...DEFAULT_USER_PERMISSIONS];
      await accounts.add(p.name, password, perms, p.quota);
      writeText(
        io.stdout,
        `Added user ${quoted} with ${formatPermissions(perms)}${
          p.quota == null ? "" : ` and a quota of ${formatSize(p.quota)}`
        }\n`,
      );
      return;
    }
    case "del":
      await accounts.remove(p.name);
      writeText(io.stdout, `Removed user ${quoted}\n`);
      return;
    case "passwd": {
      if (!accounts.get(p.name)) {
        throw new FtsError(
          "not_found",
          `Cannot change the password of user ${quoted}: no such user`,
        );
      }
      const password = await readSecret(io, {
        passwordFile: p.passwordFile,
        prompt: `New password for ${quoted}: `,
        confirmPrompt: "Repeat the password: ",
      });
      await accounts.setPassword(p.name, password);
      writeText(io.stdout, `Changed the password of user ${quoted}\n`);
      return;
    }
    case "perm": {
      const perms = p.perms!;
      await accounts.setPermissions(p.name, perms);
      writeText(
        io.stdout,
        `Set the permissions of user ${quoted} to ${
          formatPermissions(perms)
        }\n`,
      );
      return;
    }
  }
}

/**
 * Refuses to work where no server lives: the root (`--root`, or the default
 * `./dados`) must be an existing folder, so a mistyped `--root` or a command
 * run from the wrong folder never creates a stray state folder, and `list`
 * never reports "no users" for a server that is not there. With `--state`,
 * `add` may create that folder; the other commands need it to exist.
 */
async function checkWhere(p: Parsed): Promise<void> {
  const action = describeCommand(p);
  const [dir, what] = p.root === null
    ? [p.stateDir, "state folder"]
    : [p.root, "server root"];
  if (p.root === null && p.command === "add") return;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new FtsError("io", `Cannot ${action}: cannot read "${dir}"`, {
        cause: error,
      });
    }
    throw new FtsError(
      "not_found",
      p.root === null
        ? `Cannot ${action}: the state folder "${dir}" does not exist`
        : `Cannot ${action}: the server root "${dir}" does not exist; give the folder the server serves with --root DIR`,
    );
  }
  if (!info.isDirectory) {
    throw new FtsError(
      "not_directory",
      `Cannot ${action}: the ${what} "${dir}" is not a folder`,
    );
  }
}

function describeCommand(p: Parsed): string {
  const quoted = `"${p.name}"`;
  switch (p.command) {
    case "add":
      return `add user ${quoted}`;
    case "del":
      return `remove user ${quoted}`;
    case "list":
      return "list users";
    case "passwd":
      return `change the password of user ${quoted}`;
    case "perm":
      return `change the permissions of user ${quoted}`;
    case "quota":
      return `change the quota of user ${quoted}`;
  }
}

/**
 * Bytes of the stored files each account uploaded (see
 * server/storage/quota.ts): the files under `root` now, their owners from
 * the journal in `stateDir`. Uploads in flight are not counted.
 */
async function usageByAccount(
  root: string,
  stateDir: string,
): Promise<Map<string, number>> {
  const owners = readOwners(stateDir);
  const used = new Map<string, number>();
  using paths = RootedPaths.open(await Deno.realPath(root));
  for (const file of walkFiles(paths.folder)) {
    const owner = owners.get(file.name);
    if (owner !== undefined) {
      used.set(owner, (used.get(owner) ?? 0) + file.size);
    }
  }
  return used;
}

function parse(args: string[]): Parsed | "help" {
  for (const arg of args) {
    if (arg === "--") break;
    if (/^--?password(=|$)/.test(arg)) {
      throw new UsageError(
        `--password is not accepted: a password on the command line is visible to other users; use --password-file or ${PASSWORD_ENV}`,
      );
    }
  }
  const { values, positionals } = parseCommandLine({
    args,
    options: {
      perm: { type: "string" },
      quota: { type: "string" },
      "password-file": { type: "string" },
      root: { type: "string" },
      state: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || positionals[0] === "help") return "help";
  const [word, name, ...extra] = positionals;
  if (word === undefined) {
    throw new UsageError(
      "Missing command: use add, del, list, passwd, perm or quota (see --help)",
    );
  }
  if (!isCommand(word)) {
    throw new UsageError(
      `Unknown command ${
        JSON.stringify(word.slice(0, 40))
      }: use add, del, list, passwd, perm or quota`,
    );
  }
  // Extra words are never echoed: one might be a password typed by mistake.
  if (extra.length > 0 || (word === "list" && name !== undefined)) {
    throw new UsageError(
      word === "list"
        ? '"list" takes no user name'
        : `Too many arguments: "${word}" takes one user name`,
    );
  }
  if (word !== "list" && name === undefined) {
    throw new UsageError(`Missing user name: fts user ${word} NAME`);
  }
  if (name !== undefined) {
    try {
      validateUserName(name);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new UsageError(error.message, { cause: error });
    }
  }
  if (values.perm !== undefined && word !== "add" && word !== "perm") {
    throw new UsageError('--perm only applies to "add" and "perm"');
  }
  if (word === "perm" && values.perm === undefined) {
    throw new UsageError('"perm" needs --perm LIST');
  }
  if (values.quota !== undefined && word !== "add" && word !== "quota") {
    throw new UsageError('--quota only applies to "add" and "quota"');
  }
  if (word === "quota" && values.quota === undefined) {
    throw new UsageError('"quota" needs --quota SIZE (or --quota none)');
  }
  let quota: number | null | undefined;
  if (values.quota === "none" && word === "quota") quota = null;
  else if (values.quota !== undefined) {
    try {
      quota = parseSize(values.quota);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new UsageError(`--quota: ${error.message}`, { cause: error });
    }
  }
  if (
    values["password-file"] !== undefined && word !== "add" &&
    word !== "passwd"
  ) {
    throw new UsageError('--password-file only applies to "add" and "passwd"');
  }
  let perms: Permission[] | undefined;
  if (values.perm !== undefined) {
    try {
      perms = parsePermissions(values.perm);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new UsageError(error.message, { cause: error });
    }
  }
  const root = values.root ?? DEFAULT_ROOT;
  return {
    command: word,
    name: name ?? "",
    perms,
    quota,
    passwordFile: values["password-file"],
    stateDir: values.state ?? join(root, STATE_DIR),
    root: values.state === undefined ? root : null,
    usageRoot: values.state === undefined || values.root !== undefined
      ? root
      : null,
  };
}

function isCommand(word: string): word is Command {
  return ["add", "del", "list", "passwd", "perm", "quota"].includes(word);
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
