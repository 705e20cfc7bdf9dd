/**
 * Lines from a byte stream (standard input, a pipe, a file), the one line
 * splitter of both sides: the shell's commands from a pipe, yes/no answers,
 * secret prompts, which feed each typed byte to their own editor, and the
 * shell's terminal line editor, which takes what was typed in chunks.
 *
 * @module
 */

const LF = 0x0a;

/** Options of {@linkcode LineReader}. */
export interface LineReaderOptions {
  /** Longest line {@linkcode LineReader.readLine} accepts, in bytes. */
  maxBytes: number;
}

/**
 * Reads `stream` a line at a time, keeping bytes that arrived after a line
 * for the next one. Holds the stream's lock until {@linkcode release}.
 *
 * @example
 * ```ts
 * using lines = new LineReader(Deno.stdin.readable, { maxBytes: 4096 });
 * const answer = await lines.readLine(); // null at the end of input
 * ```
 */
export class LineReader implements Disposable {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #maxBytes: number;
  #pending: Uint8Array = new Uint8Array(0);
  #ended = false;
  #skipping = false;

  /** @throws {RangeError} unless `maxBytes` is a positive integer. */
  constructor(stream: ReadableStream<Uint8Array>, options: LineReaderOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) {
      throw new RangeError(`Line limit ${options.maxBytes} is not positive`);
    }
    this.#reader = stream.getReader();
    this.#maxBytes = options.maxBytes;
  }

  /**
   * The next line as UTF-8 text without its `\n` or `\r\n`; the last line
   * may lack its end; null at the end of input. A stream that fails ends
   * the input.
   *
   * @throws {RangeError} when the line is longer than `maxBytes`; the rest
   * of that line is skipped, so the next call reads the line after it.
   */
  async readLine(): Promise<string | null> {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      if (this.#pending.byteLength === 0 && !(await this.#fill())) {
        if (this.#skipping || length === 0) {
          this.#skipping = false;
          return null;
        }
        return decode(parts, length);
      }
      const end = this.#pending.indexOf(LF);
      const part = end < 0 ? this.#pending : this.#pending.subarray(0, end);
      this.#pending = end < 0
        ? new Uint8Array(0)
        : this.#pending.subarray(end + 1);
      if (this.#skipping) {
        if (end >= 0) this.#skipping = false;
        continue;
      }
      length += part.byteLength;
      if (length > this.#maxBytes) {
        for (const kept of parts) kept.fill(0);
        this.#skipping = end < 0;
        throw new RangeError(`A line is longer than ${this.#maxBytes} bytes`);
      }
      parts.push(part.slice());
      if (end >= 0) {
        return decode(parts, length).replace(/\r$/, "");
      }
    }
  }

  /**
   * Feeds the bytes that come next, one at a time, to `key` until it
   * returns true (the line is complete); resolves true then, or false at
   * the end of input. For editors of their own, such as a secret prompt.
   * Whatever `key` throws is rethrown; bytes after it stay unread.
   */
  async readKeys(key: (byte: number) => boolean): Promise<boolean> {
    for (;;) {
      if (this.#pending.byteLength === 0 && !(await this.#fill())) {
        return false;
      }
      const pending = this.#pending;
      for (let i = 0; i < pending.byteLength; i++) {
        let done: boolean;
        try {
          done = key(pending[i]!);
        } catch (error) {
          this.#pending = pending.subarray(i + 1);
          throw error;
        }
        if (done) {
          this.#pending = pending.subarray(i + 1);
          return true;
        }
      }
      this.#pending = new Uint8Array(0);
    }
  }

  /**
   * The bytes that come next, as they arrived (those read ahead first);
   * null at the end of input. For editors that take their input in chunks,
   * such as the shell's terminal line editor.
   */
  async readChunk(): Promise<Uint8Array | null> {
    if (this.#pending.byteLength === 0 && !(await this.#fill())) return null;
    const chunk = this.#pending;
    this.#pending = new Uint8Array(0);
    return chunk;
  }

  /** Stops the stream; a pending read ends as the end of input. */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  /** Zeroes the bytes read ahead and gives the stream's lock back. */
  release(): void {
    this.#pending.fill(0);
    this.#pending = new Uint8Array(0);
    this.#reader.releaseLock();
  }

  /** Same as {@linkcode release}. */
  [Symbol.dispose](): void {
    this.release();
  }

  /** Reads the next chunk into `#pending`; false at the end of input. */
  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array> | null;
      try {
        result = await this.#reader.read();
      } catch {
        result = null; // a stream that failed ends the input
      }
      if (result === null || result.done) {
        this.#ended = true;
        return false;
      }
      if (result.value.byteLength > 0) {
        this.#pending = result.value;
        return true;
      }
    }
  }
}

function decode(parts: readonly Uint8Array[], length: number): string {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
    part.fill(0);
  }
  const text = new TextDecoder().decode(bytes);
  bytes.fill(0);
  return text;
}
