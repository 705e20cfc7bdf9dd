/**
 * Asks for a secret (a vault passphrase) on the controlling terminal,
 * `/dev/tty`, with echo off, as `age`, `ssh` and `gpg` do: standard input
 * may be a pipe or the shell's own line reader, and the answer never shows
 * on the screen, in the history or in the process list.
 *
 * @module
 */

import { ReasonError } from "./errors.ts";

/** Longest answer accepted, in bytes. */
const MAX_BYTES = 4096;

const CR = 0x0d;
const LF = 0x0a;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x08;
const DELETE = 0x7f;
const ESC = 0x1b;

/**
 * Asks `prompt` on the controlling terminal and reads one line without
 * echo. Resolves to null when there is no terminal to ask on (no
 * `/dev/tty`: a service, CI, Windows).
 *
 * @throws {ReasonError} `cancelled` on Ctrl-C, or Ctrl-D on an empty line;
 * `bad_request` for an answer longer than 4 KiB.
 */
export async function askOnTerminal(prompt: string): Promise<string | null> {
  if (Deno.build.os === "windows") return null;
  let tty: Deno.FsFile;
  try {
    tty = await Deno.open("/dev/tty", { read: true, write: true });
  } catch {
    return null; // no controlling terminal
  }
  try {
    if (!tty.isTerminal()) return null;
    tty.setRaw(true);
    try {
      // From the start of a clean line: a progress bar may be on this one.
      write(tty, `\r\x1b[K${prompt}`);
      return await readHidden(tty);
    } finally {
      write(tty, "\r\n");
      tty.setRaw(false);
    }
  } finally {
    tty.close();
  }
}

async function readHidden(tty: Deno.FsFile): Promise<string> {
  const line: number[] = [];
  const buf = new Uint8Array(256);
  let escape = false;
  for (;;) {
    const n = await tty.read(buf);
    if (n === null) throw cancelled();
    for (const byte of buf.subarray(0, n)) {
      if (escape) {
        // Skip an escape sequence (arrow keys…) up to its final letter.
        if (byte >= 0x40 && byte <= 0x7e && byte !== 0x5b) escape = false;
        continue;
      }
      switch (byte) {
        case CR:
        case LF:
          return new TextDecoder().decode(new Uint8Array(line));
        case CTRL_C:
          throw cancelled();
        case CTRL_D:
          if (line.length === 0) throw cancelled();
          continue;
        case CTRL_U:
          line.length = 0;
          continue;
        case BACKSPACE:
        case DELETE:
          // Remove one whole UTF-8 character (continuation bytes first).
          while (line.length > 0 && ((line.pop() ?? 0) & 0xc0) === 0x80) {
            // keep popping continuation bytes
          }
          continue;
        case ESC:
          escape = true;
          continue;
      }
      if (byte < 0x20) continue; // other control keys
      if (line.length >= MAX_BYTES) {
        throw new ReasonError(
          "bad_request",
          `the answer is longer than ${MAX_BYTES} bytes`,
        );
      }
      line.push(byte);
    }
  }
}

function cancelled(): ReasonError {
  return new ReasonError("cancelled", "cancelled at the passphrase prompt");
}

function write(tty: Deno.FsFile, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  while (at < bytes.length) at += tty.writeSync(bytes.subarray(at));
}
