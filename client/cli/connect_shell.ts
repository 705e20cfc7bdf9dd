/**
 * The interactive side of `fts connect`: the shell on a terminal (line
 * editing, completion, questions through the line editor) or on a plain
 * standard input. Loaded only when `fts connect` runs no command and no
 * batch, so that one-shot commands do not load the shell.
 *
 * @module
 */

import type { CliIo } from "../../common/cli_io.ts";
import { FtsError } from "../../protocol/errors.ts";
import type { CommandOutput, ShellState } from "../shell/commands.ts";
import { complete, shellCompletionSource } from "../shell/completion.ts";
import { runLocalShell } from "../shell/local_shell.ts";
import { type InterruptSource, runShell } from "../shell/shell.ts";
import type { ClientSession } from "../engine/session.ts";
import {
  type LineSource,
  PlainLineSource,
  TerminalLineSource,
} from "../term/line_input.ts";
import { askYesNoOn } from "../term/prompt.ts";
import { askOnTerminal } from "../term/tty_secret.ts";
import type { Connector } from "./connect_setup.ts";
import type { CommandRetry } from "../shell/command_context.ts";

/** What {@linkcode runShellSession} needs from `fts connect`. */
export interface ShellSessionOptions {
  io: CliIo;
  state: ShellState;
  output: CommandOutput;
  /** A person at a terminal types the commands. */
  interactive: boolean;
  connector: Connector;
  /** Opens a new session (after the server went away). */
  reconnect: () => Promise<ClientSession>;
  /** How a command runs again after a lost connection. */
  retry?: CommandRetry;
  interrupts?: InterruptSource;
  signal: AbortSignal;
  /** The terminal's width now. */
  columns: () => number;
  /**
   * Told the line source that owns standard input while the shell runs
   * (notices go through it), and null when the shell ends.
   */
  onNotices: (source: LineSource | null) => void;
}

/** Runs the shell until `exit` or the end of input; resolves to the exit status. */
export async function runShellSession(
  options: ShellSessionOptions,
): Promise<number> {
  const { io, state, output, interactive, connector } = options;
  const input: LineSource = interactive && io.stdin.setRaw
    ? new TerminalLineSource(
      {
        readable: io.stdin.readable,
        setRaw: (mode) => io.stdin.setRaw?.(mode),
      },
      io.stdout,
      options.columns,
      {
        complete: (before) => complete(before, shellCompletionSource(state)),
      },
    )
    : new PlainLineSource(io.stdin.readable, io.stderr);
  options.onNotices(input);
  // The line editor owns standard input now: a reconnection asks through it.
  connector.usePrompter({
    ask: (question) => askYesNoOn(input, question),
    secret: (prompt) => askOnTerminal(prompt),
  });
  try {
    return await runShell({
      input,
      output,
      state,
      interactive,
      reconnect: () =>
        options.reconnect().catch((error) => {
          if (!(error instanceof FtsError)) throw error;
          throw new FtsError(error.code, connector.explain(error), {
            cause: error,
          });
        }),
      ...(options.interrupts ? { interrupts: options.interrupts } : {}),
      ...(options.retry ? { retry: options.retry } : {}),
      signal: options.signal,
      localShell: (line) =>
        runLocalShell(line, {
          cwd: state.localDir,
          env: io.env,
          stdin: interactive,
        }),
    });
  } finally {
    options.onNotices(null);
    connector.usePrompter(null);
    await input.close();
  }
}
