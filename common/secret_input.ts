/**
 * Reads a password from, in this order: a password file (its first line),
 * the environment (`FTS_PASSWORD`), or the terminal with echo off. Never
 * from the command line, where every local user could read it in the
 * process list.
 *
 * Shared by `fts user` (new passwords) and `fts connect USER@HOST` (logins).
 *
 * @module
 */

import { FtsError } from "../protocol/errors.ts";
import { type CliIo, writeText } from "./cli_io.ts";
import { LineReader } from "./line_reader.ts";
import { MAX_SECRET_BYTES, SecretLine } from "./secret_line.ts";

/** The environment variable a password may come from. */
export const PASSWORD_ENV = "FTS_PASSWORD";

/** Largest password file read, in bytes. */
const MAX_FILE_BYTES = 64 * 1024;
/** Longest line accepted from the terminal, in bytes. */
const MAX_LINE_BYTES = MAX_SECRET_BYTES;

/** The parts of {@linkcode CliIo} that {@linkcode readSecret} uses. */
export type SecretIo = Pick<CliIo, "stdin" | "stderr" | "env" | "signal">;

/** Options of {@linkcode readSecret}. */
export interface SecretOptions {
  /** Read the first line of this file (`--password-file`). */
  passwordFile?: string | undefined;
  /** Environment variable to use; default {@linkcode PASSWORD_ENV}. */
  envName?: string;
  /** Prompt on the terminal; default `"Password: "`. */
  prompt?: string;
  /**
   * On a terminal, ask a second time with this prompt and require both
   * answers to match (for new passwords). Default: ask once.
   */
  confirmPrompt?: string;
}

/**
 * Reads a password.
 *
 * @throws {FtsError} `io` if the password file cannot be read, `bad_request`
 * if the password is empty or the two answers differ, `auth_required` when
 * there is no file, no variable and no terminal, `cancelled` on Ctrl-C, Ctrl-D
 * or abort. Messages never contain the password.
 * @example
 * ```ts
 * const password = await readSecret(io, { passwordFile: flags["password-file"] });
 * ```
 */
export async function readSecret(
  io: SecretIo,
  options: SecretOptions = {},
): Promise<string> {
  if (options.passwordFile !== undefined) {
    return nonEmpty(await readPasswordFile(options.passwordFile));
  }
  const fromEnv = io.env(options.envName ?? PASSWORD_ENV);
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!io.stdin.isTerminal()) {
    throw new FtsError(
      "auth_required",
      `Cannot read a password: stdin is not a terminal; use --password-file or ${
        options.envName ?? PASSWORD_ENV
      }`,
    );
  }
  const setRaw = io.stdin.setRaw?.bind(io.stdin);
  if (setRaw === undefined) {
    throw new FtsError(
      "unsupported",
      "Cannot read a password: this terminal cannot turn echo off",
    );
  }
  const reader = new SecretReader(io.stdin.readable, io.signal);
  setRaw(true);
  try {
    const first = nonEmpty(
      await promptLine(io, reader, options.prompt ?? "Password: "),
    );
    if (options.confirmPrompt !== undefined) {
      const second = await promptLine(io, reader, options.confirmPrompt);
      if (second !== first) {
        throw new FtsError("bad_request", "Passwords do not match");
      }
    }
    return first;
  } finally {
    setRaw(false);
    reader.release();
  }
}

async function promptLine(
  io: SecretIo,
  reader: SecretReader,
  prompt: string,
): Promise<string> {
  writeText(io.stderr, prompt);
  try {
    return await reader.readLine();
  } finally {
    writeText(io.stderr, "\n");
  }
}

/**
 * Reads the first line of `path`, without its line ending.
 *
 * @throws {FtsError} code `io` if the file cannot be read or is too large.
 */
async function readPasswordFile(path: string): Promise<string> {
  const where = `Cannot read the password file "${path}"`;
  let bytes: Uint8Array;
  try {
    using file = await Deno.open(path, { read: true });
    const buf = new Uint8Array(MAX_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.byteLength) {
      const r = await file.read(buf.subarray(n));
      if (r === null) break;
      n += r;
    }
    if (n > MAX_FILE_BYTES) {
      throw new FtsError("io", `${where}: larger than ${MAX_FILE_BYTES} bytes`);
    }
    bytes = buf.subarray(0, n);
  } catch (error) {
    if (error instanceof FtsError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new FtsError("io", `${where}: ${detail}`, { cause: error });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FtsError("io", `${where}: not UTF-8 text`);
  }
  return text.split(/\r?\n/, 1)[0] ?? "";
}

function nonEmpty(password: string): string {
  if (password === "") {
    throw new FtsError("bad_request", "The password is empty");
  }
  return password;
}

/**
 * Reads lines typed on a raw terminal through a {@linkcode SecretLine}.
 * Keeps bytes typed ahead for the next line.
 */
class SecretReader {
  readonly #lines: LineReader;
  readonly #signal: AbortSignal | undefined;
  readonly #line = new SecretLine({
    maxBytes: MAX_LINE_BYTES,
    cancelled,
    tooLong: (max) =>
      new FtsError("bad_request", `The password is longer than ${max} bytes`),
  });

  constructor(stream: ReadableStream<Uint8Array>, signal?: AbortSignal) {
    this.#lines = new LineReader(stream, { maxBytes: MAX_LINE_BYTES });
    this.#signal = signal;
  }

  async readLine(): Promise<string> {
    const line = this.#line;
    const onAbort = () => void this.#lines.cancel();
    if (this.#signal?.aborted) throw cancelled();
    this.#signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const complete = await this.#lines.readKeys((b) => line.key(b));
      if (this.#signal?.aborted) throw cancelled();
      if (!complete && line.length === 0) throw cancelled();
      return line.take();
    } finally {
      this.#signal?.removeEventListener("abort", onAbort);
    }
  }

  release(): void {
    this.#line.wipe();
    this.#lines.release();
  }
}

function cancelled(): FtsError {
  return new FtsError("cancelled", "Password entry cancelled");
}
