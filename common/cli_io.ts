/**
 * The terminal streams and environment a command runs with, shared by
 * `fts serve`, `fts connect`, `fts user` and `fts key`. `Deno.stdin`,
 * `Deno.stdout` and `Deno.stderr` satisfy it; tests pass fakes.
 *
 * @module
 */

/** Streams, environment and cancellation of one command. */
export interface CliIo {
  stdin: {
    readable: ReadableStream<Uint8Array>;
    isTerminal(): boolean;
    /** Turns echo and line editing off (`true`) or back on; terminals only. */
    setRaw?(mode: boolean): void;
  };
  stdout: {
    writeSync(p: Uint8Array): number;
    isTerminal(): boolean;
    /** Asynchronous write, for file contents (`get NAME -`). */
    write?(p: Uint8Array): Promise<number>;
  };
  stderr: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  /** Reads an environment variable (`Deno.env.get`, or a test's map). */
  env: (name: string) => string | undefined;
  /** Stops the command as SIGTERM would. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * Writes all of `text` to `out` (`writeSync` may write less than asked).
 *
 * @example
 * ```ts
 * writeText(Deno.stderr, "fts: Cannot connect\n");
 * ```
 */
export function writeText(
  out: { writeSync(p: Uint8Array): number },
  text: string,
): void {
  const bytes = encoder.encode(text);
  let n = 0;
  while (n < bytes.byteLength) n += out.writeSync(bytes.subarray(n));
}

/**
 * Writes `fts: message` as one line to `io.stderr` and returns `status`,
 * the command's exit code.
 *
 * @example
 * ```ts
 * return failWith(io, 'Missing HOST (try "fts connect --help")', USAGE_STATUS);
 * ```
 */
export function failWith(
  io: Pick<CliIo, "stderr">,
  message: string,
  status: number,
): number {
  writeText(io.stderr, `fts: ${message}\n`);
  return status;
}

/**
 * `text` made safe for a one-line message: its first line only, terminal
 * escape sequences removed, other control characters shown as `\u{…}`.
 *
 * @example
 * ```ts
 * oneLine("\x1b[31merror\x1b[0m: bad\n    at f (x.ts:1:1)"); // "error: bad"
 * ```
 */
export function oneLine(text: string): string {
  const first = text.split(/\r?\n/, 1)[0] ?? "";
  // deno-lint-ignore no-control-regex -- escape sequences are what is removed
  const plain = first.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, "");
  // deno-lint-ignore no-control-regex -- control characters are what is escaped
  return plain.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    return `\\u{${c.charCodeAt(0).toString(16)}}`;
  });
}
