/**
 * The interactive shell: a prompt, the numbered menu (1 list,
 * 2 upload, 3 download, 4 delete, 5 exit), and the sftp-style commands of
 * commands.ts. Ctrl-C while a command runs cancels that command only.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";
import { UsageError } from "../../common/usage_error.ts";
import { splitWords, type Word } from "./command_parse.ts";
import { type CommandOutput, runWords, type ShellState } from "./commands.ts";
import type { CommandRetry } from "./command_context.ts";
import { localReason } from "../errors.ts";
import { displayName } from "../term/format.ts";
import { MENU } from "./help.ts";
import type { LineSource } from "../term/line_input.ts";
import { writeText } from "../term/progress.ts";
import type { ClientSession } from "../engine/session.ts";
import { formatTarget } from "../connect/target.ts";

/** Delivers Ctrl-C (SIGINT) while a command runs. */
export interface InterruptSource {
  /** Calls `listener` on each interrupt until the returned function is called. */
  listen(listener: () => void): () => void;
}

/** Options of {@linkcode runShell}. */
export interface ShellOptions {
  readonly input: LineSource;
  readonly output: CommandOutput;
  readonly state: ShellState;
  /** Prompt, banner and menu: true when a person types. */
  readonly interactive: boolean;
  /** Opens a new session when the old one was closed (idle timeout, restart). */
  readonly reconnect?: () => Promise<ClientSession>;
  /** Ctrl-C while a command runs. */
  readonly interrupts?: InterruptSource;
  /** How a command runs again after a lost connection. */
  readonly retry?: CommandRetry;
  /** Ends the shell. */
  readonly signal?: AbortSignal;
  /**
   * Runs `!COMMAND` (or, for null, `!`: an interactive shell) on this
   * computer and resolves to its exit status. Absent: `!` is refused.
   */
  readonly localShell?: (command: string | null) => Promise<number>;
}

/**
 * Runs the shell until `exit`, end of input, or `signal`. Resolves to the
 * exit status: 0, or 1 when the connection was lost and could not be
 * reopened (without a person at the terminal; a person is told that the
 * next command tries again).
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const { input, output, state } = options;
  if (options.interactive) {
    writeText(
      output.out,
      `Connected to ${formatTarget(state.session.target)} (${
        quoteName(state.session.serverAgent, 60)
      }). Type "help" for the commands.\n${MENU}`,
    );
  }
  const stop = new Promise<null>((resolve) => {
    if (options.signal?.aborted) resolve(null);
    options.signal?.addEventListener("abort", () => resolve(null), {
      once: true,
    });
  });
  for (;;) {
    const prompt = `fts:/${displayName(state.remoteDir, 40)}> `;
    const line = await Promise.race([input.readLine(prompt), stop]);
    if (line === null) return 0;
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (trimmed.startsWith("!")) {
      const failure = await localCommand(trimmed, options);
      if (failure !== null) writeText(output.err, `${failure}\n`);
      continue;
    }
    if (!await ensureSession(options)) {
      // A person may wait for the server to come back and type again.
      if (!options.interactive || /^(5|exit|quit|bye)$/.test(trimmed)) {
        return options.interactive ? 0 : 1;
      }
      continue;
    }
    let words: Word[];
    try {
      words = /^[1-5]$/.test(trimmed)
        ? await menuChoice(Number(trimmed), options)
        : splitWords(line);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      writeText(output.err, `${error.message}\n`);
      continue;
    }
    if (words.length === 0) continue;
    const result = await runOne(words, options);
    if (result === "exit") return 0;
  }
}

/** Runs one command with its own abort, tied to Ctrl-C and the shell's signal. */
async function runOne(
  words: Word[],
  options: ShellOptions,
): Promise<"ok" | "exit"> {
  const controller = new AbortController();
  const stopListening = options.interrupts?.listen(() => controller.abort());
  const onStop = () => controller.abort();
  options.signal?.addEventListener("abort", onStop, { once: true });
  try {
    const result = await runWords(words, {
      state: options.state,
      output: options.output,
      signal: controller.signal,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.interactive
        ? { confirm: (q: string) => ask(q, options) }
        : {}),
    });
    if (result.status === "exit") return "exit";
    if (result.status !== "ok") {
      writeText(options.output.err, `${result.message}\n`);
    }
    return "ok";
  } finally {
    stopListening?.();
    options.signal?.removeEventListener("abort", onStop);
  }
}

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes. */
async function ask(question: string, options: ShellOptions): Promise<boolean> {
  const answer = await options.input.readLine(question);
  return /^y(es)?$/i.test(answer?.trim() ?? "");
}

/**
 * Runs a `!COMMAND` line (or `!` alone, on a terminal only); resolves to
 * the message to show when it failed, else null.
 */
export async function localCommand(
  line: string,
  options: Pick<ShellOptions, "localShell" | "interactive">,
): Promise<string | null> {
  const command = line.slice(1).trim();
  if (!options.localShell) return "Local commands (!) are not available here";
  if (command === "" && !options.interactive) {
    return '"!" alone starts a local shell only on a terminal (give a command: !ls)';
  }
  let status: number;
  try {
    status = await options.localShell(command === "" ? null : command);
  } catch (error) {
    const local = localReason(error);
    if (local === undefined) throw error;
    return `Cannot run a local shell: ${local.reason}`;
  }
  return status === 0 ? null : `The local command exited with status ${status}`;
}

/** The seed's menu: each choice becomes a command, asking for a number when needed. */
async function menuChoice(
  choice: number,
  options: ShellOptions,
): Promise<Word[]> {
  const word = (text: string): Word => ({ text, quoted: false });
  switch (choice) {
    case 1:
      return [word("ls")];
    case 5:
      return [word("exit")];
  }
  const [list, verb, question] = choice === 2
    ? ["lls", "put", "Number of the local file to upload"]
    : choice === 3
    ? ["ls", "get", "Number of the file to download"]
    : ["ls", "rm", "Number of the file to delete"];
  const shown = await runOne([word(list)], options);
  if (shown === "exit") return [];
  const listing = list === "ls"
    ? options.state.remoteListing
    : options.state.localListing;
  if (!listing || listing.entries.length === 0) return [];
  const answer =
    (await options.input.readLine(`${question} (Enter to cancel): `))?.trim() ??
      "";
  if (answer === "") return [];
  if (!/^\d+$/.test(answer)) {
    throw new UsageError(`"${displayName(answer, 20)}" is not a number`);
  }
  return [word(verb), word(answer)];
}

/** Reopens a closed session before the next command, when possible. */
async function ensureSession(options: ShellOptions): Promise<boolean> {
  const { state, output } = options;
  if (!state.session.closed) return true;
  const where = formatTarget(state.session.target);
  if (!options.reconnect) {
    writeText(output.err, `The connection to ${where} is closed.\n`);
    return false;
  }
  try {
    await state.session.close();
    state.session = await options.reconnect();
    writeText(output.err, `Reconnected to ${where}.\n`);
    return true;
  } catch (error) {
    if (!(error instanceof FtsError)) throw error;
    const hint = options.interactive
      ? " (the next command tries to reconnect; exit to leave)"
      : "";
    writeText(output.err, `${error.message}${hint}\n`);
    return false;
  }
}
