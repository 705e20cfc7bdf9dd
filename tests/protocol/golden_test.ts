/**
 * PROTOCOL.md and the code must not drift apart: this reads the document and
 * checks its worked examples byte for byte, and its tag, error-code, limits
 * and feature tables, against protocol/.
 *
 * Format it relies on (kept deliberately simple):
 * - a message section is a heading `### NAME (0xNN)`; the first fenced block
 *   marked `hex` under it is the message's example frame (whitespace between
 *   bytes ignored), an optional block marked `json` is its payload as text;
 * - a `hex` block anywhere else is an error, so no example goes unchecked;
 * - tables are found by their `## N. Title` section and read row by row.
 *
 * After changing the encoder, regenerate the examples from the real encoder;
 * a failing test prints the block it expected.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FrameDecoder } from "../../protocol/decoder.ts";
import { ERROR_CODES } from "../../protocol/errors.ts";
import {
  FRAME_VERSION,
  HEADER_SIZE,
  MAX_PAYLOAD,
  parseHeader,
} from "../../protocol/frame.ts";
import {
  BLOCK_DIGEST_BYTES,
  DATA_PREFIX,
  decodeMessage,
  DEFAULT_CHUNK,
  encodeMessage,
  KNOWN_FEATURES,
  MAX_BLOCK_SUMS,
  MAX_LIST_WINDOW,
  MAX_SUMS,
  type MessageType,
  MIN_RESUME_BLOCK,
  MSG,
  PROTOCOL_VERSION,
  typeOfTag,
} from "../../protocol/messages.ts";
import {
  MAX_COMPONENT_BYTES,
  MAX_DEPTH,
  MAX_NAME_BYTES,
} from "../../protocol/names.ts";
import {
  EXAMPLES,
  formatHexBlock,
  fromHex,
  toHex,
  VARIANT_EXAMPLES,
} from "./_examples.ts";

const DOC_URL = new URL("../../PROTOCOL.md", import.meta.url);
const doc = await Deno.readTextFile(DOC_URL);

interface DocExample {
  /** The heading's name, e.g. "PUT_READY". */
  name: string;
  /**
   * The variant after the tag, e.g. "resumed" for
   * `### PUT_READY (0x31), resumed`: a further example of a message type
   * (see VARIANT_EXAMPLES); undefined for the main example.
   */
  variant?: string;
  /** The tag written in the heading. */
  tag: number;
  /** Line number of the heading, for messages. */
  line: number;
  hex?: string;
  json?: string;
}

/**
 * Reads the message sections and their fenced blocks; what breaks the
 * format goes to `problems`.
 */
function parseExamples(text: string, problems: string[]): DocExample[] {
  const lines = text.split("\n");
  const sections: DocExample[] = [];
  let current: DocExample | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("#")) {
      const m = /^### ([A-Z_]+) \(0x([0-9a-f]{2})\)(?:, ([a-z ]+))?\s*$/
        .exec(line);
      current = m
        ? {
          name: m[1]!,
          tag: parseInt(m[2]!, 16),
          line: i + 1,
          ...(m[3] === undefined ? {} : { variant: m[3] }),
        }
        : undefined;
      if (current) sections.push(current);
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (!fence) continue;
    const info = fence[1]!;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) {
      body.push(lines[i]!);
    }
    if (info === "hex") {
      if (!current) problems.push(`line ${i}: hex block outside a message`);
      else if (current.hex !== undefined) {
        problems.push(`${current.name}: two hex blocks`);
      } else current.hex = body.join("\n");
    } else if (info === "json" && current) {
      if (current.json !== undefined) {
        problems.push(`${current.name}: two json blocks`);
      } else current.json = body.join("\n");
    }
  }
  return sections;
}

/** The lines of the section whose `## ` heading contains `title`. */
function section(text: string, title: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) =>
    /^## /.test(l) && l.toLowerCase().includes(title.toLowerCase())
  );
  assert.ok(start >= 0, `PROTOCOL.md has no section "${title}"`);
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Table rows of `lines` as arrays of trimmed cells, header rows excluded. */
function tableRows(lines: string[]): string[][] {
  return lines
    .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) => l.slice(1, l.endsWith("|") ? -1 : undefined).split("|"))
    .map((cells) => cells.map((c) => c.trim()));
}

const problems: string[] = [];
const examples = parseExamples(doc, problems);
const byType = new Map<MessageType, DocExample>();
const byVariant = new Map<string, DocExample>();
for (const example of examples) {
  const type = typeOfTag(example.tag);
  if (type && example.variant !== undefined) {
    byVariant.set(`${type}, ${example.variant}`, example);
  } else if (type) byType.set(type, example);
}
const mainExamples = examples.filter((e) => e.variant === undefined);

Deno.test("PROTOCOL.md keeps every hex block in a message section, one each", () => {
  assert.deepEqual(problems, []);
});

Deno.test("PROTOCOL.md has one example section per message type, headed with its tag", () => {
  const headed = mainExamples.map((e) => `${e.name} 0x${e.tag.toString(16)}`);
  const expected = Object.entries(MSG).map(([name, tag]) =>
    `${name} 0x${tag.toString(16)}`
  );
  assert.deepEqual(headed.sort(), expected.sort());
  for (const example of examples) {
    assert.ok(example.hex, `${example.name} (line ${example.line}) has no hex`);
  }
});

Deno.test("every hex example in PROTOCOL.md is what encodeMessage() writes", () => {
  for (const [type, message] of Object.entries(EXAMPLES)) {
    const example = byType.get(type as MessageType);
    assert.ok(example?.hex, `no example for ${type}`);
    const actual = encodeMessage(message);
    assert.equal(
      toHex(fromHex(example.hex)),
      toHex(actual),
      `${example.name} (PROTOCOL.md line ${example.line}) should be:\n` +
        "```hex\n" + formatHexBlock(actual) + "\n```",
    );
  }
});

Deno.test("every hex example in PROTOCOL.md decodes to its example message", () => {
  for (const [type, message] of Object.entries(EXAMPLES)) {
    const decoder = new FrameDecoder();
    decoder.push(fromHex(byType.get(type as MessageType)!.hex!));
    const frame = decoder.next();
    assert.ok(frame, `${type}: not a whole frame`);
    assert.equal(decoder.buffered, 0, `${type}: bytes after the frame`);
    assert.deepEqual(decodeMessage(frame), message);
  }
});

Deno.test("the variant examples of PROTOCOL.md are exactly VARIANT_EXAMPLES, each what encodeMessage() writes and decodes back", () => {
  assert.deepEqual(
    [...byVariant.keys()].sort(),
    Object.keys(VARIANT_EXAMPLES).sort(),
  );
  for (const [key, message] of Object.entries(VARIANT_EXAMPLES)) {
    const example = byVariant.get(key)!;
    assert.equal(typeOfTag(example.tag), message.type, key);
    const actual = encodeMessage(message);
    assert.equal(
      toHex(fromHex(example.hex ?? "")),
      toHex(actual),
      `${example.name}, ${example.variant} (PROTOCOL.md line ${example.line}) should be:\n` +
        "```hex\n" + formatHexBlock(actual) + "\n```",
    );
    const decoder = new FrameDecoder();
    decoder.push(actual);
    assert.deepEqual(decodeMessage(decoder.next()!), message);
    if (message.type !== "data") {
      assert.equal(
        example.json,
        new TextDecoder().decode(actual.subarray(HEADER_SIZE)),
        `${key} (PROTOCOL.md line ${example.line})`,
      );
    }
  }
});

Deno.test("every JSON payload shown in PROTOCOL.md is the example's payload", () => {
  for (const [type, message] of Object.entries(EXAMPLES)) {
    const example = byType.get(type as MessageType)!;
    const payload = encodeMessage(message).subarray(HEADER_SIZE);
    if (type === "data") {
      assert.equal(example.json, undefined, "DATA is binary");
      continue;
    }
    assert.equal(
      example.json,
      new TextDecoder().decode(payload),
      `${example.name} (PROTOCOL.md line ${example.line})`,
    );
  }
});

Deno.test("the tag table of PROTOCOL.md lists exactly MSG, with the flags the codec allows", () => {
  const rows = tableRows(section(doc, "Message types"))
    .filter((cells) => /^0x[0-9a-f]{2}$/.test(cells[0]!));
  const tags = rows.map((cells) => [cells[1], parseInt(cells[0]!, 16)]);
  assert.deepEqual(
    tags,
    Object.entries(MSG).sort((a, b) => a[1] - b[1]),
  );
  for (const cells of rows) {
    const type = typeOfTag(parseInt(cells[0]!, 16))!;
    const documented = [...cells[4]!.matchAll(/0x([0-9a-f]{2})/g)]
      .reduce((mask, m) => mask | parseInt(m[1]!, 16), 0);
    assert.equal(documented, allowedFlags(type), `flags of ${cells[1]}`);
  }
});

/** The flag bits decodeMessage() accepts on the example of `type`. */
function allowedFlags(type: MessageType): number {
  const bytes = encodeMessage(EXAMPLES[type]);
  const header = parseHeader(bytes);
  let mask = 0;
  for (let bit = 0; bit < 8; bit++) {
    try {
      decodeMessage({
        type: header.type,
        flags: 1 << bit,
        id: header.id,
        payload: bytes.subarray(HEADER_SIZE),
      });
      mask |= 1 << bit;
    } catch {
      // refused: not an allowed flag
    }
  }
  return mask;
}

Deno.test("the error-code table of PROTOCOL.md lists exactly ERROR_CODES, in order", () => {
  const codes = tableRows(section(doc, "Error codes"))
    .map((cells) => /^`([a-z_]+)`$/.exec(cells[0]!)?.[1])
    .filter((code) => code !== undefined);
  assert.deepEqual(codes, [...ERROR_CODES]);
});

Deno.test("the limits table of PROTOCOL.md matches the constants in protocol/", () => {
  const constants: Record<string, number> = {
    HEADER_SIZE,
    MAX_PAYLOAD,
    DATA_PREFIX,
    DEFAULT_CHUNK,
    MAX_NAME_BYTES,
    MAX_COMPONENT_BYTES,
    MAX_DEPTH,
    MAX_SUMS,
    FRAME_VERSION,
    PROTOCOL_VERSION,
    MAX_LIST_WINDOW,
    MIN_RESUME_BLOCK,
    MAX_BLOCK_SUMS,
    BLOCK_DIGEST_BYTES,
  };
  const documented: Record<string, number> = {};
  for (const cells of tableRows(section(doc, "Limits"))) {
    const name = /^`([A-Z_]+)`$/.exec(cells[0]!)?.[1];
    if (name) documented[name] = Number(cells[1]);
  }
  assert.deepEqual(documented, constants);
});

Deno.test("the feature table of PROTOCOL.md marks exactly KNOWN_FEATURES as defined", () => {
  const rows = tableRows(section(doc, "Versioning and features"))
    .map((cells) => [/^`([a-z0-9_-]+)`$/.exec(cells[0]!)?.[1], cells[1]])
    .filter(([name]) => name !== undefined);
  const defined = rows.filter(([, s]) => s === "defined").map(([n]) => n);
  const reserved = rows.filter(([, s]) => s === "reserved").map(([n]) => n);
  assert.equal(defined.length + reserved.length, rows.length, "status column");
  assert.deepEqual(defined.sort(), [...KNOWN_FEATURES].sort());
  for (const name of reserved) {
    assert.ok(!(KNOWN_FEATURES as readonly string[]).includes(name!), name);
  }
});
