/**
 * `fts connect --batch FILE|-`: the commands of a batch file, one a line,
 * run in order until the first failure. Loaded only for `--batch`.
 *
 * @module
 */

import { resolve } from "node:path";
import type { CliIo } from "../../common/cli_io.ts";
import { USAGE_STATUS } from "../../common/usage_error.ts";
import { quoteName } from "../../protocol/names.ts";
import { fileReason } from "../errors.ts";
import { splitWords, type Word } from "../shell/command_parse.ts";
import {
  type CommandOutput,
  runWords,
  type ShellState,
} from "../shell/commands.ts";
import { runLocalShell } from "../shell/local_shell.ts";
import { localCommand } from "../shell/shell.ts";
import { PlainLineSource } from "../term/line_input.ts";
import type { CommandRetry } from "../shell/command_context.ts";

/** Runs the commands of a batch file; stops at the first failure. */
export async function runBatch(
  file: string,
  context: {
    io: CliIo;
    state: ShellState;
    output: CommandOutput;
    signal: AbortSignal;
    retry?: CommandRetry;
    fail: (message: string, status: number) => number;
  },
): Promise<number> {
  const { io, fail } = context;
  let stream: ReadableStream<Uint8Array>;
  let name: string;
  if (file === "-") {
    stream = io.stdin.readable;
    name = "stdin";
  } else {
    name = file;
    try {
      stream = await openBatch(resolve(file));
    } catch (error) {
      const reason = fileReason(error);
      if (reason === undefined) throw error;
      return fail(
        `Cannot read batch file ${quoteName(file)}: ${reason}`,
        USAGE_STATUS,
      );
    }
  }
  const lines = new PlainLineSource(stream, io.stderr);
  try {
    for (let number = 1;; number++) {
      let line: string | null;
      try {
        line = await lines.readLine("");
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        return fail(`${name}:${number}: ${error.message}`, USAGE_STATUS);
      }
      if (line === null) return 0;
      const trimmed = line.trim();
      if (trimmed === "" || trimmed.startsWith("#")) continue;
      if (trimmed.startsWith("!")) {
        const failure = await localCommand(trimmed, {
          interactive: false,
          localShell: (line) =>
            runLocalShell(line, {
              cwd: context.state.localDir,
              env: io.env,
              stdin: false,
            }),
        });
        if (failure !== null) return fail(`${name}:${number}: ${failure}`, 1);
        continue;
      }
      let words: Word[];
      try {
        words = splitWords(trimmed);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        return fail(`${name}:${number}: ${error.message}`, USAGE_STATUS);
      }
      const result = await runWords(words, context);
      if (result.status === "exit") return 0;
      if (result.status !== "ok") {
        return fail(
          `${name}:${number}: ${result.message}`,
          result.status === "usage" ? USAGE_STATUS : 1,
        );
      }
    }
  } finally {
    await lines.close();
  }
}

/** Opens a batch file; a folder is refused here, not at its first read. */
async function openBatch(path: string): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path);
  try {
    if ((await file.stat()).isDirectory) {
      throw new Deno.errors.IsADirectory(path);
    }
  } catch (error) {
    file.close();
    throw error;
  }
  return file.readable;
}
