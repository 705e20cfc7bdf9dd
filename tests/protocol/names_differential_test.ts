import assert from "node:assert/strict";
import { FtsError } from "../../protocol/errors.ts";
import {
  MAX_COMPONENT_BYTES,
  MAX_DEPTH,
  MAX_NAME_BYTES,
  validateName,
} from "../../protocol/names.ts";
import { referenceValidateName } from "../_helpers/protocol/names_reference.ts";

type Outcome =
  | { value: string }
  | { error: string; code: string; message: string };

function outcome(validate: (name: unknown) => string, name: unknown): Outcome {
  try {
    return { value: validate(name) };
  } catch (error) {
    assert.ok(error instanceof FtsError, `not an FtsError: ${error}`);
    return { error: error.name, code: error.code, message: error.message };
  }
}

function assertSameOutcome(name: string): Outcome {
  const expected = outcome(referenceValidateName, name);
  assert.deepEqual(
    outcome(validateName, name),
    expected,
    `name ${JSON.stringify(name.length > 200 ? name.slice(0, 200) : name)}`,
  );
  return expected;
}

/** A small seeded generator (mulberry32), so failures reproduce. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [
  "\\",
  "\u0000",
  "\t",
  "\n",
  "\x1b",
  "\x1f",
  "\x7f",
  "\u0080",
  "\u0085",
  "\u009f",
  "\u00a0",
  "\u00ad",
  "\u061c",
  "\u200b",
  "\u200c",
  "\u200d",
  "\u200e",
  "\u202e",
  "\u2028",
  "\u2029",
  "\u2060",
  "\u2066",
  "\u206f",
  "\ufeff",
  "\u{e0001}",
  "\u{e0041}",
  "\u{e007f}",
  "\ud800",
  "\udc00",
  "\udbff",
  "é",
  "e\u0301",
  "\u1112\u1161\u11ab",
  "\u212b", // Angstrom sign, NFC is U+00C5
  "日",
  "🎉",
  "❤️",
  " ",
  "~",
  "/",
  ".",
];
const ASCII_PRINTABLE = Array.from(
  { length: 0x7f - 0x20 },
  (_, i) => String.fromCharCode(0x20 + i),
);
// Characters whose UTF-8 length is 1, 2, 3 and 4 bytes, and an NFD pair.
const WIDTHS = ["x", "é", "日", "🎉", "e\u0301"];

function randomName(random: () => number): string {
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)]!;
  const component = (): string => {
    const kind = random();
    if (kind < 0.05) return pick([".", "..", "", "...", ".a", "a."]);
    if (kind < 0.12) {
      // Around the component limit, in characters of one width.
      const ch = pick(WIDTHS);
      const bytes = MAX_COMPONENT_BYTES - 2 + Math.floor(random() * 4);
      const width = new TextEncoder().encode(ch.normalize("NFC")).byteLength;
      return ch.repeat(Math.max(1, Math.floor(bytes / width)));
    }
    let out = "";
    const length = 1 + Math.floor(random() * 12);
    const specials = random() < 0.5 ? 0 : 0.15;
    for (let i = 0; i < length; i++) {
      out += random() < specials ? pick(SPECIAL) : pick(ASCII_PRINTABLE);
    }
    return out;
  };
  const depthRoll = random();
  const depth = depthRoll < 0.1
    ? MAX_DEPTH - 1 + Math.floor(random() * 3)
    : 1 + Math.floor(random() * 6);
  const parts = Array.from({ length: depth }, component);
  let name = parts.join(random() < 0.05 ? "//" : "/");
  if (random() < 0.03) name = "/" + name;
  if (random() < 0.03) name += "/";
  return name;
}

/** Names of short components whose total is around MAX_NAME_BYTES. */
function nearTotalLimit(random: () => number): string {
  const ch = WIDTHS[Math.floor(random() * WIDTHS.length)]!;
  const target = MAX_NAME_BYTES - 3 + Math.floor(random() * 6);
  const width = new TextEncoder().encode(ch.normalize("NFC")).byteLength;
  let name = "";
  let bytes = 0;
  for (let i = 1; bytes < target; i++) {
    const slash = i % 41 === 0;
    name += slash ? "/" : ch;
    bytes += slash ? 1 : width;
  }
  return name;
}

Deno.test("validateName() agrees with the reference validator on random names", () => {
  const random = seededRandom(0x5eed_2024);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 10_000; i++) {
    const name = i % 10 === 9 ? nearTotalLimit(random) : randomName(random);
    if ("value" in assertSameOutcome(name)) accepted++;
    else refused++;
  }
  // The generator reaches both sides of the rule, not only one.
  assert.ok(accepted > 1_500, `only ${accepted} accepted`);
  assert.ok(refused > 1_500, `only ${refused} refused`);
});

Deno.test("validateName() agrees with the reference validator on every BMP character", () => {
  for (let cp = 0; cp <= 0xffff; cp++) {
    const ch = String.fromCharCode(cp);
    assertSameOutcome(`a${ch}b`);
    assertSameOutcome(`${ch}/x`);
  }
  for (let cp = 0x10000; cp <= 0x10ffff; cp += 0x3f) {
    assertSameOutcome(`a${String.fromCodePoint(cp)}b`);
  }
  for (let cp = 0xe0000; cp <= 0xe007f; cp++) {
    assertSameOutcome(`a${String.fromCodePoint(cp)}b`);
  }
});

Deno.test("validateName() agrees with the reference validator at the limits", () => {
  const names = [
    "",
    "/",
    ".",
    "..",
    "a/.",
    "./a",
    "a/../b",
    "a//b",
    "a/",
    "/a",
    "x".repeat(MAX_COMPONENT_BYTES),
    "x".repeat(MAX_COMPONENT_BYTES + 1),
    `a/${"x".repeat(MAX_COMPONENT_BYTES + 1)}/b`,
    Array(MAX_DEPTH).fill("d").join("/"),
    Array(MAX_DEPTH + 1).fill("d").join("/"),
    Array(MAX_DEPTH + 1).fill("d").join("/") + "\\",
    "x".repeat(MAX_NAME_BYTES),
    "x".repeat(MAX_NAME_BYTES + 1),
    Array(5).fill("y".repeat(200)).join("/"),
    Array(5).fill("y".repeat(204)).join("/"),
    Array(5).fill("y".repeat(205)).join("/"),
    "e\u0301".repeat(127),
    "e\u0301".repeat(128),
    "é".repeat(128),
    "🎉".repeat(63) + "xyz",
    "🎉".repeat(64),
  ];
  for (const name of names) assertSameOutcome(name);
});
