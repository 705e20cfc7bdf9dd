/**
 * A fake `CliIo` for command tests: no terminal, captured stdout/stderr
 * (written at most 5 bytes per call), environment from a map.
 *
 * @module
 */

import type { CliIo } from "../../../client/cli/key_cli.ts";

/** A `CliIo` whose output the test reads back. */
export interface CapturedIo extends CliIo {
  /** Everything written to stdout so far. */
  stdoutText(): string;
  /** Everything written to stderr so far. */
  stderrText(): string;
}

/** Makes a {@linkcode CapturedIo} with environment `env`. */
export function captureIo(env: Record<string, string>): CapturedIo {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const sink = (into: Uint8Array[]) => ({
    writeSync(p: Uint8Array): number {
      // Short writes, as a pipe may do: callers must loop.
      const n = Math.min(p.length, 5);
      into.push(p.slice(0, n));
      return n;
    },
    isTerminal: () => false,
  });
  const text = (parts: Uint8Array[]) => {
    const decoder = new TextDecoder();
    return parts.map((part) => decoder.decode(part)).join("");
  };
  return {
    stdin: {
      readable: new ReadableStream<Uint8Array>(),
      isTerminal: () => false,
    },
    stdout: sink(out),
    stderr: sink(err),
    env: (name) => env[name],
    stdoutText: () => text(out),
    stderrText: () => text(err),
  };
}
