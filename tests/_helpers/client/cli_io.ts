/**
 * A CliIo whose standard input is a string and whose outputs are buffers,
 * for running the client's CLI and shell in-process.
 *
 * @module
 */

import type { CliIo } from "../../../common/cli_io.ts";

/**
 * A text sink that keeps what was written. With `maxWrite` it takes at most
 * that many bytes per call, as a pipe may: callers must loop.
 */
export class Buffer {
  #chunks: Uint8Array[] = [];
  readonly #terminal: boolean;
  readonly #maxWrite: number;

  constructor(terminal = false, maxWrite = Infinity) {
    this.#terminal = terminal;
    this.#maxWrite = maxWrite;
  }

  writeSync(p: Uint8Array): number {
    const n = Math.min(p.byteLength, this.#maxWrite);
    this.#chunks.push(p.slice(0, n));
    return n;
  }

  isTerminal(): boolean {
    return this.#terminal;
  }

  /** Everything written, as text. */
  text(): string {
    const total = this.#chunks.reduce((n, c) => n + c.byteLength, 0);
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.byteLength;
    }
    return new TextDecoder().decode(all);
  }
}

/** Options of {@linkcode fakeIo}. */
export interface FakeIoOptions {
  /** Standard input; chunks are delivered one read at a time. */
  stdin?: string | string[];
  /** Pretend standard input is a terminal (with setRaw). */
  tty?: boolean;
  /** Pretend standard error is a terminal (progress bars). */
  ttyErr?: boolean;
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Most bytes stdout and stderr take per write. Default: all. */
  maxWrite?: number;
}

/** A fake CliIo and its output buffers. */
export function fakeIo(options: FakeIoOptions = {}): {
  io: CliIo;
  stdout: Buffer;
  stderr: Buffer;
  rawModes: boolean[];
} {
  const chunks = typeof options.stdin === "string"
    ? [options.stdin]
    : options.stdin ?? [];
  const encoder = new TextEncoder();
  let i = 0;
  const readable = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]!));
      else controller.close();
    },
  });
  const stdout = new Buffer(options.tty ?? false, options.maxWrite);
  const stderr = new Buffer(options.ttyErr ?? false, options.maxWrite);
  const rawModes: boolean[] = [];
  const io: CliIo = {
    stdin: {
      readable,
      isTerminal: () => options.tty ?? false,
      ...(options.tty
        ? { setRaw: (mode: boolean) => void rawModes.push(mode) }
        : {}),
    },
    stdout,
    stderr,
    env: (name) => options.env?.[name],
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return { io, stdout, stderr, rawModes };
}
