import assert from "node:assert/strict";
import { FtsError, NameError } from "../../protocol/errors.ts";
import {
  collisionName,
  isValidName,
  MAX_COMPONENT_BYTES,
  MAX_DEPTH,
  MAX_NAME_BYTES,
  quoteName,
  splitName,
  validateName,
} from "../../protocol/names.ts";

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).byteLength;

/** Characters that must never reach a terminal raw. */
// Joiners (U+200C/U+200D) are allowed: scripts and emoji sequences need them.
const DISPLAY_UNSAFE = /[[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]--[\u200c\u200d]]/v;

/** Names a hostile peer might send; every one must be refused. */
const HOSTILE: [string, unknown][] = [
  ["parent escape", "../x"],
  ["absolute path", "/etc/passwd"],
  ["escape through a folder", "a/../../b"],
  ["parent in the middle", "a/../b"],
  ["trailing parent", "a/.."],
  ["Windows parent escape", "..\\x"],
  ["backslash", "a\\b"],
  ["Windows absolute", "C:\\Windows\\win.ini"],
  ["UNC path", "\\\\server\\share"],
  ["NUL", "a\u0000b"],
  ["NUL at the end", "a.txt\u0000.jpg"],
  ["ANSI clear screen", "\x1b[2J"],
  ["ANSI escape inside", "a\x1b[31mred.txt"],
  ["newline", "a\nb"],
  ["carriage return", "a\rb"],
  ["tab", "a\tb"],
  ["DEL", "a\x7fb"],
  ["C1 control (NEL)", "a\u0085b"],
  ["C1 CSI", "a\u009b2Jb"],
  ["bidi override", "invoice\u202Etxt.exe"],
  ["bidi isolate", "a\u2067b"],
  ["Arabic letter mark", "a\u061cb"],
  ["zero-width space", "a\u200bb"],
  ["byte order mark", "\ufeffa"],
  ["line separator", "a\u2028b"],
  ["paragraph separator", "a\u2029b"],
  ["soft hyphen", "a\u00adb"],
  ["invisible tag characters", "a\u{E0041}\u{E0042}.txt"],
  ["10 KB name", "a".repeat(10 * 1024)],
  ["10 KB of multi-byte text", "é".repeat(5 * 1024)],
  ["256-byte component", "a".repeat(256)],
  ["256-byte component of 2-byte letters", "é".repeat(128)],
  ["256-byte component deep down", `a/b/${"x".repeat(256)}`],
  ["1025 bytes in short components", tooLongInShortComponents()],
  [`${MAX_DEPTH + 1} levels deep`, Array(MAX_DEPTH + 1).fill("d").join("/")],
  ["empty", ""],
  ["dot", "."],
  ["dot dot", ".."],
  ["dot component", "a/./b"],
  ["leading dot component", "./a"],
  ["trailing slash", "a/"],
  ["trailing slash on a folder path", "docs/a/"],
  ["root", "/"],
  ["double slash", "a//b"],
  ["lone high surrogate", "a\ud800b"],
  ["lone low surrogate", "\udc00.txt"],
  ["undefined", undefined],
  ["null", null],
  ["number", 42],
  ["object", {}],
  ["array", ["a.txt"]],
  ["String object", new String("a.txt")],
];

/** 1025 bytes in components of 40 bytes: only the total is too long. */
function tooLongInShortComponents(): string {
  const parts = Array(25).fill("c".repeat(40)); // 25 * 41 - 1 = 1024 bytes
  const name = parts.join("/") + "x";
  assert.equal(bytes(name), MAX_NAME_BYTES + 1);
  return name;
}

Deno.test("validateName() refuses the hostile corpus with NameError", () => {
  for (const [label, name] of HOSTILE) {
    assert.throws(() => validateName(name), (error: unknown) => {
      assert.ok(error instanceof NameError, `${label}: got ${error}`);
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "invalid_name");
      return true;
    }, label);
    assert.equal(isValidName(name), false, label);
  }
});

Deno.test("validateName() messages never carry a raw control character", () => {
  for (const [label, name] of HOSTILE) {
    try {
      validateName(name);
    } catch (error) {
      assert.ok(error instanceof NameError);
      assert.doesNotMatch(error.message, DISPLAY_UNSAFE, label);
      assert.ok(error.message.length < 400, `${label}: message too long`);
    }
  }
});

Deno.test("validateName() accepts ordinary names and returns them unchanged", () => {
  const good = [
    "a.txt",
    "my report.pdf",
    " leading and trailing spaces ",
    "Relatório de 2024.pdf",
    "日本語のファイル.txt",
    "Ελληνικά",
    "🎉.txt",
    "❤️ heart with variation selector",
    "👨\u200d👩\u200d👧 family (zero-width joiners).jpg",
    "می\u200cخواهم.txt", // Persian with a zero-width non-joiner
    "a/b/c.txt",
    "docs/Relatório/📁/file",
    ".hidden",
    "..a",
    "a..",
    "...",
    "-rf",
    "(1) a.txt",
    'quote".txt',
    "a:b",
    "x".repeat(MAX_COMPONENT_BYTES),
    "é".repeat(127), // 254 bytes
    Array(MAX_DEPTH).fill("d").join("/"),
    exactlyMaxBytes(),
  ];
  for (const name of good) {
    assert.equal(validateName(name), name, JSON.stringify(name.slice(0, 40)));
    assert.equal(isValidName(name), true);
  }
});

/** A name of exactly MAX_NAME_BYTES bytes, three components of 255 bytes. */
function exactlyMaxBytes(): string {
  // 3 * 255 + 254 + 1 bytes of letters and 4 slashes: 1024.
  const name = ["a", "b", "c"].map((c) => c.repeat(255)).join("/") + "/" +
    "d".repeat(254) + "/e";
  assert.equal(bytes(name), MAX_NAME_BYTES);
  return name;
}

Deno.test("validateName() turns NFD input into NFC output", () => {
  const nfd = "Cafe\u0301/re\u0301sume\u0301.txt";
  const nfc = "Caf\u00e9/r\u00e9sum\u00e9.txt";
  assert.notEqual(nfd, nfc);
  assert.equal(validateName(nfd), nfc);
  assert.equal(validateName(nfc), nfc);
  // Hangul written as jamo becomes syllables.
  assert.equal(
    validateName("\u1112\u1161\u11ab.txt"),
    "\u1112\u1161\u11ab.txt".normalize("NFC"),
  );
  assert.equal(validateName("\u1112\u1161\u11ab.txt"), "\ud55c.txt");
});

Deno.test("validateName() measures lengths after NFC normalisation", () => {
  // 127 "é" are 254 bytes in NFC but 381 bytes in NFD.
  const nfd = "e\u0301".repeat(127);
  assert.ok(bytes(nfd) > MAX_COMPONENT_BYTES);
  assert.equal(validateName(nfd), "\u00e9".repeat(127));
  assert.throws(() => validateName("e\u0301".repeat(128)), NameError);
});

Deno.test("quoteName() escapes control, format and bidi characters", () => {
  assert.equal(quoteName("a\x1b[2Jb"), '"a\\u{1b}[2Jb"');
  assert.equal(quoteName("a\u0000b"), '"a\\u{0}b"');
  assert.equal(quoteName("line\nbreak\r"), '"line\\u{a}break\\u{d}"');
  assert.equal(quoteName("a\x7f\u0085"), '"a\\u{7f}\\u{85}"');
  assert.equal(quoteName("invoice\u202Etxt.exe"), '"invoice\\u{202e}txt.exe"');
  assert.equal(quoteName("a\u{E0041}"), '"a\\u{e0041}"');
  assert.equal(quoteName("a\ud800b"), '"a\\u{d800}b"');
  assert.equal(quoteName("a\u2028b"), '"a\\u{2028}b"');
});

Deno.test("quoteName() leaves ordinary text as it is, inside quotes", () => {
  for (
    const name of ["a.txt", "my report.pdf", "日本語", "🎉.txt", "❤️", "a/b"]
  ) {
    assert.equal(quoteName(name), `"${name}"`);
  }
});

Deno.test("quoteName() never lets an unsafe character through, for every code point", () => {
  let unsafeSeen = 0;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    const ch = String.fromCodePoint(cp);
    if (!DISPLAY_UNSAFE.test(ch)) continue;
    unsafeSeen++;
    const quoted = quoteName(`a${ch}b`);
    assert.doesNotMatch(quoted, DISPLAY_UNSAFE, `U+${cp.toString(16)}`);
    assert.equal(quoted, `"a\\u{${cp.toString(16)}}b"`);
  }
  assert.ok(
    unsafeSeen > 2000,
    "the scan saw controls, format characters and surrogates",
  );
});

Deno.test("quoteName() truncates long names with an ellipsis", () => {
  const quoted = quoteName("x".repeat(10_000));
  assert.equal(quoted, `"${"x".repeat(120)}…"`);
  assert.equal(quoteName("y".repeat(30), 10), `"${"y".repeat(10)}…"`);
  assert.equal(quoteName("z".repeat(10), 10), `"${"z".repeat(10)}"`);
});

Deno.test("splitName() separates the parent folder from the base name", () => {
  assert.deepEqual(splitName("a.txt"), { parent: "", base: "a.txt" });
  assert.deepEqual(splitName("docs/a.txt"), { parent: "docs", base: "a.txt" });
  assert.deepEqual(splitName("a/b/c.txt"), { parent: "a/b", base: "c.txt" });
});

Deno.test("collisionName() prefixes the base name with (n), in the same folder", () => {
  assert.equal(collisionName("a.txt", 1), "(1) a.txt");
  assert.equal(collisionName("a.txt", 2), "(2) a.txt");
  assert.equal(collisionName("a.txt", 10), "(10) a.txt");
  assert.equal(collisionName("docs/a.txt", 1), "docs/(1) a.txt");
  assert.equal(collisionName("a/b/Relatório.pdf", 3), "a/b/(3) Relatório.pdf");
  assert.equal(collisionName("(1) a.txt", 1), "(1) (1) a.txt");
  for (const name of ["a.txt", "docs/a.txt", "🎉"]) {
    assert.equal(isValidName(collisionName(name, 7)), true);
  }
});
