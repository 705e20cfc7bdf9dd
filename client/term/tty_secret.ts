/**
 * Asks for a secret (a vault passphrase) on the controlling terminal,
 * `/dev/tty`, with echo off, as `age`, `ssh` and `gpg` do: standard input
 * may be a pipe or the shell's own line reader, and the answer never shows
 * on the screen, in the history or in the process list.
 *
 * @module
 */

import { MAX_SECRET_BYTES, SecretLine } from "../../common/secret_line.ts";
import { ReasonError } from "../errors.ts";

/** Longest answer accepted, in bytes. */
const MAX_BYTES = MAX_SECRET_BYTES;

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
  const line = new SecretLine({
    maxBytes: MAX_BYTES,
    cancelled,
    tooLong: (max) =>
      new ReasonError("bad_request", `the answer is longer than ${max} bytes`),
  });
  const buf = new Uint8Array(256);
  try {
    for (;;) {
      const n = await tty.read(buf);
      if (n === null) throw cancelled();
      for (const byte of buf.subarray(0, n)) {
        if (line.key(byte)) return line.take();
      }
    }
  } finally {
    line.wipe();
    buf.fill(0);
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
