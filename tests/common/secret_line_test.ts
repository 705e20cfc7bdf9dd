import assert from "node:assert/strict";
import { SecretLine } from "../../common/secret_line.ts";

class Cancelled extends Error {}
class TooLong extends Error {}

function newLine(maxBytes?: number): SecretLine {
  return new SecretLine({
    ...(maxBytes === undefined ? {} : { maxBytes }),
    cancelled: () => new Cancelled("cancelled"),
    tooLong: (max) => new TooLong(`longer than ${max}`),
  });
}

/** Types `keys` and returns the line taken at Enter, or null without one. */
function type(line: SecretLine, keys: string | number[]): string | null {
  const bytes = typeof keys === "string"
    ? new TextEncoder().encode(keys)
    : Uint8Array.from(keys);
  for (const b of bytes) {
    if (line.key(b)) return line.take();
  }
  return null;
}

Deno.test("SecretLine.key() ends the line at Enter and keeps UTF-8 text", () => {
  assert.equal(type(newLine(), "pässwörd🔑\r"), "pässwörd🔑");
  assert.equal(type(newLine(), "x\n"), "x");
});

Deno.test("SecretLine backspace removes one whole UTF-8 character", () => {
  assert.equal(type(newLine(), "ab🔑\x7fc\r"), "abc");
  assert.equal(type(newLine(), "é\x08\x08z\r"), "z");
});

Deno.test("SecretLine Ctrl-U clears the line and arrow keys add nothing", () => {
  assert.equal(type(newLine(), "wrong\x15right\r"), "right");
  assert.equal(type(newLine(), "a\x1b[Ab\x1bOBc\r"), "abc");
});

Deno.test("SecretLine Ctrl-C cancels; Ctrl-D cancels only an empty line", () => {
  assert.throws(() => type(newLine(), "abc\x03"), Cancelled);
  assert.throws(() => type(newLine(), "\x04"), Cancelled);
  assert.equal(type(newLine(), "ab\x04c\r"), "abc");
});

Deno.test("SecretLine refuses a line longer than maxBytes and wipes it", () => {
  const line = newLine(4);
  assert.throws(() => type(line, "12345"), TooLong);
  assert.equal(line.length, 0);
  assert.equal(type(newLine(4), "1234\r"), "1234");
});

Deno.test("SecretLine.take() empties the line", () => {
  const line = newLine();
  assert.equal(type(line, "secret\r"), "secret");
  assert.equal(line.length, 0);
  assert.equal(type(line, "\r"), "");
});
