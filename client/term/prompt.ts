/**
 * Yes/no questions on the terminal, for the first contact with a server
 * ("Trust it and remember it?"). UI layer: it writes the question to the
 * error stream and reads the answer from standard input, with echo on.
 *
 * @module
 */

import { writeText } from "../../common/cli_io.ts";
import { LineReader } from "../../common/line_reader.ts";

/** The streams a question needs. */
export interface PromptIo {
  stdin: { readable: ReadableStream<Uint8Array> };
  stderr: { writeSync(p: Uint8Array): number };
  signal?: AbortSignal;
}

/** Longest answer read, in bytes; the rest of a longer line is ignored. */
const MAX_ANSWER_BYTES = 256;

/**
 * Asks `question` until the answer is yes or no (`yes`, `y`, `no`, `n`, in
 * any case). The end of input, Ctrl-D or an abort count as no.
 *
 * @example
 * ```ts
 * if (await askYesNo(io, "Trust it and remember it?")) remember();
 * ```
 */
export async function askYesNo(
  io: PromptIo,
  question: string,
): Promise<boolean> {
  using lines = new LineReader(io.stdin.readable, {
    maxBytes: MAX_ANSWER_BYTES,
  });
  const onAbort = () => void lines.cancel();
  io.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    writeText(io.stderr, `${question} (yes/no) `);
    for (;;) {
      const answer = await lines.readLine().catch((error) => {
        if (error instanceof RangeError) return ""; // asked again
        throw error;
      });
      if (answer === null || io.signal?.aborted) {
        writeText(io.stderr, "\n");
        return false;
      }
      const word = answer.trim().toLowerCase();
      if (word === "yes" || word === "y") return true;
      if (word === "no" || word === "n") return false;
      writeText(io.stderr, 'Please type "yes" or "no": ');
    }
  } finally {
    io.signal?.removeEventListener("abort", onAbort);
  }
}

/** A source of typed lines (the shell's line editor). */
export interface PromptLines {
  /** The next line, or null at the end of input. */
  readLine(prompt: string): Promise<string | null>;
  /** Shows a message on its own line. */
  notice(text: string): void;
}

/**
 * {@linkcode askYesNo} through `lines`, for when the shell's line editor
 * owns standard input: all lines of `question` but the last are shown as a
 * notice, the last is the prompt.
 *
 * @example
 * ```ts
 * if (await askYesNoOn(shellInput, "Trust it and remember it?")) remember();
 * ```
 */
export async function askYesNoOn(
  lines: PromptLines,
  question: string,
): Promise<boolean> {
  const cut = question.lastIndexOf("\n");
  if (cut >= 0) lines.notice(question.slice(0, cut));
  let prompt = `${question.slice(cut + 1)} (yes/no) `;
  for (;;) {
    const answer = await lines.readLine(prompt);
    if (answer === null) return false;
    const word = answer.trim().toLowerCase();
    if (word === "yes" || word === "y") return true;
    if (word === "no" || word === "n") return false;
    prompt = 'Please type "yes" or "no": ';
  }
}
