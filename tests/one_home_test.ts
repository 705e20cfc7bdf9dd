/**
 * One home per shared concept: what both sides need is written once, in
 * `common/` or `protocol/`, and the hand-written helpers a library already
 * gives are not written again. Checked on the source itself.
 */

import assert from "node:assert/strict";
import {
  readSources,
  type SourceFile,
  withoutComments,
} from "./_helpers/common/source_graph.ts";

const SOURCES: readonly SourceFile[] = readSources([
  "protocol",
  "common",
  "server",
  "client",
]).map((f) => ({ path: f.path, text: withoutComments(f.text) }));

/** The files whose code (comments left out) matches `pattern`. */
function filesMatching(
  pattern: RegExp,
  sources: readonly SourceFile[] = SOURCES,
): string[] {
  return sources.filter((f) => pattern.test(f.text)).map((f) => f.path);
}

const SINGLE_HOMES: readonly [string, RegExp, string][] = [
  ["the ALPN name", /["']fts\/1["']/, "protocol/frame.ts"],
  ["the age version line", /age-encryption\.org\/v1\\n/, "common/age_magic.ts"],
  [
    "the fingerprint rule",
    /function spkiFingerprint\b/,
    "common/fingerprint.ts",
  ],
  ["the pinning name", /function pinnedHostname\b/, "common/fingerprint.ts"],
  [
    "fingerprint parsing",
    /function normaliseFingerprint\b/,
    "common/fingerprint.ts",
  ],
  ["the config folder", /function configDir\b/, "common/config_dir.ts"],
  ["quiet removal", /function removeQuietly\b/, "common/remove_quietly.ts"],
  ["private folders", /function ensurePrivateDir\b/, "common/private_files.ts"],
  ["the zstd level", /ZSTD_c_compressionLevel/, "common/compression.ts"],
  ["the clock", /interface \w*Clock\b/, "common/clock.ts"],
  [
    "a counting semaphore's queue",
    /#waiting: \(\(\) => void\)\[\]/,
    "common/semaphore.ts",
  ],
];

for (const [concept, pattern, home] of SINGLE_HOMES) {
  Deno.test(`${concept} is written once, in ${home}`, () => {
    assert.deepEqual(filesMatching(pattern), [home]);
  });
}

Deno.test("base64 and hex go through @scure/base, not hand-written helpers", () => {
  // protocol/ imports no package; it formats a type byte as hex in a message.
  const outsideProtocol = SOURCES.filter((f) => !f.path.startsWith("protocol"));
  const handWritten =
    /\b(?:btoa|atob)\(|toString\(16\)\.padStart\(2|toString\(["']base64["']\)|digest\(["']base64["']\)|parseInt\([^)]*,\s*16\)/;
  assert.deepEqual(filesMatching(handWritten, outsideProtocol), []);
});

Deno.test("streams are split into lines by common/line_reader.ts only", () => {
  const splitsBytes = /\.indexOf\((?:0x0a|LF|"\\n")\)/;
  assert.deepEqual(filesMatching(splitsBytes), ["common/line_reader.ts"]);
});

Deno.test("IP addresses are parsed by ipaddr.js, not by hand", () => {
  assert.deepEqual(filesMatching(/\.split\(["']::["']/), []);
});

Deno.test("mkdir with a private mode goes through ensurePrivateDir", () => {
  assert.deepEqual(
    filesMatching(/mkdir(?:Sync)?\([^)]*mode:\s*0o700/),
    ["common/private_files.ts"],
  );
});
