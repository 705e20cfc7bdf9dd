/**
 * The line editor behind every no-echo secret prompt (login passwords,
 * vault passphrases): applies the bytes typed on a raw terminal one at a
 * time, handling Enter, backspace, Ctrl-U, Ctrl-C and Ctrl-D and skipping
 * escape sequences (arrow keys). It does no I/O, so each prompt reads from
 * its own source and supplies its own errors.
 *
 * @module
 */

/** Longest secret accepted from a terminal by default, in bytes. */
export const MAX_SECRET_BYTES = 4096;

/** Options of {@linkcode SecretLine}. */
export interface SecretLineOptions {
  /** Longest line accepted, in bytes; default {@linkcode MAX_SECRET_BYTES}. */
  maxBytes?: number;
  /** The error thrown on Ctrl-C, or Ctrl-D on an empty line. */
  cancelled: () => Error;
  /** The error thrown when the line would pass `maxBytes`. */
  tooLong: (maxBytes: number) => Error;
}

const CR = 0x0d;
const LF = 0x0a;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;
const ESC = 0x1b;

/**
 * One secret line being typed. Keeps the bytes in a plain array that it
 * zeroes when the line is taken, cleared or abandoned.
 *
 * @example
 * ```ts
 * const line = new SecretLine({ cancelled, tooLong });
 * for (const byte of typed) {
 *   if (line.key(byte)) return line.take();
 * }
 * ```
 */
export class SecretLine {
  readonly #maxBytes: number;
  readonly #cancelled: () => Error;
  readonly #tooLong: (maxBytes: number) => Error;
  #bytes: number[] = [];
  #escape: "none" | "start" | "csi" = "none";

  /** An empty line that throws the errors of `options`. */
  constructor(options: SecretLineOptions) {
    this.#maxBytes = options.maxBytes ?? MAX_SECRET_BYTES;
    this.#cancelled = options.cancelled;
    this.#tooLong = options.tooLong;
  }

  /** Number of bytes typed so far. */
  get length(): number {
    return this.#bytes.length;
  }

  /**
   * Applies one typed byte; true when it ends the line (Enter). Wipes the
   * line before throwing the `cancelled` or `tooLong` error.
   */
  key(b: number): boolean {
    if (this.#escape === "start") {
      this.#escape = b === 0x5b || b === 0x4f ? "csi" : "none";
      return false;
    }
    if (this.#escape === "csi") {
      if (b >= 0x40 && b <= 0x7e) this.#escape = "none";
      return false;
    }
    const bytes = this.#bytes;
    switch (b) {
      case CR:
      case LF:
        return true;
      case CTRL_C:
        this.wipe();
        throw this.#cancelled();
      case CTRL_D:
        if (bytes.length === 0) throw this.#cancelled();
        return false;
      case CTRL_U:
        this.wipe();
        return false;
      case BACKSPACE:
      case DELETE:
        // Drop one UTF-8 character: continuation bytes, then the lead byte.
        while (bytes.length > 0 && (bytes[bytes.length - 1]! & 0xc0) === 0x80) {
          bytes.pop();
        }
        bytes.pop();
        return false;
      case ESC:
        this.#escape = "start";
        return false;
    }
    if (b < 0x20) return false; // other control keys
    if (bytes.length >= this.#maxBytes) {
      this.wipe();
      throw this.#tooLong(this.#maxBytes);
    }
    bytes.push(b);
    return false;
  }

  /** Decodes the line typed so far as UTF-8 and wipes it. */
  take(): string {
    const bytes = Uint8Array.from(this.#bytes);
    this.wipe();
    const text = new TextDecoder().decode(bytes);
    bytes.fill(0);
    return text;
  }

  /** Zeroes and empties the line. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#bytes.length = 0;
  }
}
