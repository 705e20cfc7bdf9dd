/**
 * Runs one parsed shell command against a session and the local folder,
 * printing results to the given streams. Shared by the interactive shell,
 * `--batch` and one-shot `fts connect HOST COMMAND`. The commands
 * themselves live by kind in remote_commands.ts, local_commands.ts and
 * transfer_commands.ts, `df` in usage_command.ts; `help`, `shutdown` and
 * `exit` are here.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import { UsageError } from "../../common/usage_error.ts";
import { type Command, parseCommand, type Word } from "./command_parse.ts";
import { type CommandContext, say } from "./command_context.ts";
import { formatDuration } from "../term/format.ts";
import { helpText } from "./help.ts";
import { runLocalCommand } from "./local_commands.ts";
import { writeText } from "../term/progress.ts";
import { runRemoteCommand } from "./remote_commands.ts";
import { runTransferCommand } from "./transfer_commands.ts";
import { showUsage } from "./usage_command.ts";
import { VaultError } from "../vault/vault_error.ts";
import {
  connectRetryReason,
  operationRetryReason,
  RetryLoop,
  type RetryReason,
} from "../engine/retry.ts";

export {
  type CommandContext,
  type CommandOutput,
  remoteFolder,
  type ShellState,
} from "./command_context.ts";

/**
 * Runs `command`. Resolves to "exit" for `exit`, else "ok".
 *
 * @throws {FtsError} when the operation fails, {@linkcode UsageError} for a
 * bad argument.
 */
async function runCommand(
  command: Command,
  context: CommandContext,
): Promise<"ok" | "exit"> {
  const { state, output } = context;
  switch (command.name) {
    case "ls":
    case "cd":
    case "pwd":
    case "rm":
    case "mv":
    case "mkdir":
    case "rmdir":
      await runRemoteCommand(command, context);
      break;
    case "lls":
    case "lcd":
    case "lpwd":
    case "lmkdir":
    case "lrm":
      await runLocalCommand(command, context);
      break;
    case "get":
    case "put":
    case "mget":
    case "mput":
      await runTransferCommand(command, context);
      break;
    case "df":
      await showUsage(context);
      break;
    case "help":
      writeText(output.out, helpText(command.topic));
      break;
    case "shutdown":
      await state.session.shutdown(
        command.graceMs === null ? {} : { graceMs: command.graceMs },
      );
      say(
        output,
        `The server accepted the shutdown${
          command.graceMs === null
            ? ""
            : `; running transfers get up to ${formatDuration(command.graceMs)}`
        }`,
      );
      break;
    case "exit":
      return "exit";
  }
  return "ok";
}

/** Commands that never talk to the server. */
const LOCAL: ReadonlySet<Command["name"]> = new Set([
  "lls",
  "lcd",
  "lpwd",
  "lmkdir",
  "lrm",
  "pwd",
  "help",
  "exit",
]);

/**
 * Commands run again after a lost connection: those that only read, and
 * the transfers, which a new try continues (skip-identical and resume).
 * The others (rm, mv, mkdir, rmdir, shutdown) may have taken effect before
 * the connection failed, so running them again could fail or do more.
 */
const RETRIED: ReadonlySet<Command["name"]> = new Set([
  "ls",
  "cd",
  "df",
  "get",
  "put",
  "mget",
  "mput",
]);

/** Commands that move files. */
const TRANSFERS: ReadonlySet<Command["name"]> = new Set([
  "get",
  "put",
  "mget",
  "mput",
]);

/**
 * Runs `command` with the context's retries: a session lost since the last
 * command is reopened first, and a command of {@linkcode RETRIED} that
 * fails because its connection failed runs again on a new one.
 */
async function runRetried(
  command: Command,
  context: CommandContext,
): Promise<"ok" | "exit"> {
  const retry = context.retry;
  if (!retry || LOCAL.has(command.name)) return runCommand(command, context);
  const transfer = TRANSFERS.has(command.name);
  const loop = (reason: (error: unknown) => RetryReason | null) =>
    new RetryLoop({
      retries: retry.retries,
      reason,
      reconnect: () => retry.reconnect(),
      onRetry: (event) => retry.onRetry(event, transfer),
      signal: context.signal,
      ...(retry.clock ? { clock: retry.clock } : {}),
      ...(retry.random ? { random: retry.random } : {}),
    });
  if (context.state.session.lost) {
    await loop(connectRetryReason).run(() => retry.reconnect());
  }
  if (!RETRIED.has(command.name)) return runCommand(command, context);
  let final = false;
  const retrying = loop((error) =>
    final ? null : operationRetryReason(error, context.state.session)
  );
  return await retrying.run(() =>
    runCommand(command, {
      ...context,
      willRetry: (error) => retrying.willRetry(error),
      final: () => {
        final = true;
      },
    })
  );
}

/** How a command line went; `message` is one line, ready to print. */
export type RunResult =
  | { readonly status: "ok" }
  | { readonly status: "exit" }
  | { readonly status: "failed"; readonly message: string }
  | { readonly status: "usage"; readonly message: string };

/**
 * Parses and runs one command given as words; the result says how it went
 * and the error message, if any, is ready to print (one line).
 *
 * @throws only for errors that are not fts or usage errors (bugs).
 */
export async function runWords(
  words: readonly Word[],
  context: CommandContext,
): Promise<RunResult> {
  let command: Command | null = null;
  try {
    command = parseCommand(words);
    const status = await runRetried(command, context);
    return status === "exit" ? { status: "exit" } : { status: "ok" };
  } catch (error) {
    if (error instanceof UsageError) {
      return { status: "usage", message: error.message };
    }
    if (error instanceof FtsError) {
      return {
        status: "failed",
        message: withRemedy(error, command?.name ?? null),
      };
    }
    throw error;
  }
}

/** Commands whose listed files come from `lls`: a stale file is local. */
const LOCAL_SOURCES: ReadonlySet<Command["name"]> = new Set([
  "put",
  "mput",
  "lrm",
]);

/**
 * Adds what the user can do about an error of command `name`, where there
 * is something. Decided by codes, reasons and the command, never by the
 * message's text.
 */
export function withRemedy(
  error: FtsError,
  name: Command["name"] | null,
): string {
  if (error.code === "stale") {
    const which = name !== null && LOCAL_SOURCES.has(name) ? "lls" : "ls";
    return `${error.message} (run "${which}" to see the folder as it is now)`;
  }
  // DELETE refuses a folder only when it is not empty.
  if (error.code === "is_directory" && name === "rm") {
    return `${error.message} ("rm -r" deletes a folder with its contents)`;
  }
  // No key opens it (a passphrase file says "wrong passphrase" instead).
  const vault = vaultErrorOf(error);
  if (vault?.reason === "no_identity" && !vault.passphrase) {
    return `${error.message} ("get --raw" saves the encrypted file as it is)`;
  }
  return error.message;
}

/** The {@linkcode VaultError} among `error`'s causes, if any. */
function vaultErrorOf(error: unknown): VaultError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof VaultError) return e;
    e = e.cause;
  }
  return undefined;
}
