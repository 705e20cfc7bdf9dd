/**
 * The error rule of the house, checked on the source: no behaviour depends
 * on the text of an error message. A regex or a string search over a
 * message breaks the day someone rewords it; codes, classes and fields
 * decide instead.
 */

import assert from "node:assert/strict";
import {
  readSources,
  withoutComments,
} from "./_helpers/common/source_graph.ts";

/**
 * Reading a message to decide: `re.test(x.message)`, `re.test(message)`,
 * `x.message.includes(…)` and its kin, `message.includes(…)`.
 */
const READS_MESSAGE = new RegExp(
  [
    /\.test\(\s*(?:\w+\.)?message\s*\)/.source,
    /\.exec\(\s*(?:\w+\.)?message\s*\)/.source,
    /\bmessage\.(?:includes|startsWith|endsWith|match|matchAll|search|replace|replaceAll)\(/
      .source,
  ].join("|"),
);

/**
 * Deno's TLS errors carry neither a code nor a class of their own: this one
 * function reads them, and its tests run real handshakes.
 */
const ALLOWED: ReadonlySet<string> = new Set(["common/tls_failure.ts"]);

Deno.test("no source decides by the text of an error message", () => {
  const offenders: string[] = [];
  for (const file of readSources(["protocol", "server", "client", "common"])) {
    if (ALLOWED.has(file.path)) continue;
    const lines = withoutComments(file.text).split("\n");
    lines.forEach((line, index) => {
      if (READS_MESSAGE.test(line)) {
        offenders.push(`${file.path}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});

Deno.test("the error rule's pattern sees the usual ways of reading a message", () => {
  for (
    const line of [
      "if (/socket hang up/i.test(cause.message)) {",
      "if (NOT_TLS.test(message)) {",
      'if (message.includes("HMAC")) {',
      'const reason = error.message.replace(/^Cannot decrypt: /, "");',
    ]
  ) {
    assert.ok(READS_MESSAGE.test(line), line);
  }
  assert.ok(!READS_MESSAGE.test("assert.match(error.message, /x/);"));
  assert.ok(!READS_MESSAGE.test("writeText(err, `${error.message}\\n`);"));
});

Deno.test("the client words a failure to connect in one module only", () => {
  const elsewhere: string[] = [];
  for (const file of readSources(["client"])) {
    if (file.path === "client/connect/connect_error.ts") continue;
    const lines = withoutComments(file.text).split("\n");
    lines.forEach((line, index) => {
      if (/Cannot connect\b/.test(line)) {
        elsewhere.push(`${file.path}:${index + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(elsewhere, []);
});
