/**
 * No stack traces, ever: `fts` run as a subprocess with odd hosts, ports and
 * options answers each with one line on standard error and the documented
 * exit status (2 for a usage error, 1 for a failure), never with Deno's
 * uncaught-error report or terminal escapes.
 */

import assert from "node:assert/strict";
import { MAIN, type RunResult } from "../_helpers/e2e/fts_process.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

/**
 * `fts ARGS…` without NO_COLOR (Deno colours its uncaught-error report even
 * into a pipe, so escapes would show), with its own config folder.
 */
async function runFts(
  args: string[],
  options: { env: Record<string, string> },
): Promise<RunResult> {
  const keep = ["PATH", "HOME", "DENO_DIR", "TMPDIR"].flatMap((name) => {
    const value = Deno.env.get(name);
    return value === undefined ? [] : [[name, value] as const];
  });
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: "null",
    clearEnv: true,
    env: { ...Object.fromEntries(keep), ...options.env },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

/** A port nothing listens on (bound, then released). */
function closedPort(hostname: string): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return listener.addr.port;
}

function assertClean(args: string[], result: RunResult): void {
  const label = JSON.stringify(args);
  const outputs: [string, string][] = [
    ["stdout", result.stdout],
    ["stderr", result.stderr],
  ];
  for (const [name, text] of outputs) {
    assert.ok(
      !text.includes("    at "),
      `${label} ${name} has a trace: ${text}`,
    );
    assert.ok(
      !text.includes("\x1b"),
      `${label} ${name} has an escape: ${text}`,
    );
    assert.ok(!/Uncaught|error: /.test(text), `${label} ${name}: ${text}`);
  }
}

Deno.test("fts connect answers odd hosts, ports and options in one line with exit 2 or 1", async () => {
  await using config = await tempDir();
  const v4 = closedPort("127.0.0.1");
  const cases: [string[], number][] = [
    [["connect", "::1:41877", "ls"], 2],
    [["connect", "1.2.3.4.5", "ls"], 2],
    [["connect", "999.1.1.1"], 2],
    [["connect", "[::1"], 2],
    [["connect", "[::1]x"], 2],
    [["connect", "[1.2.3.4]:5"], 2],
    [["connect", "h:99999"], 2],
    [["connect", "h:0"], 2],
    [["connect", "x\x1b[31m.example"], 2],
    [["connect", "ana:secret@h"], 2],
    [["connect", "@h"], 2],
    [["connect"], 2],
    [["connect", "--bogus", "h"], 2],
    [["connect", "--fingerprint", "nope", "h"], 2],
    [["connect", "--no-tls", "--accept-new", "h"], 2],
    [["connect", "--ca", "/nonexistent/ca.pem", "h"], 2],
    [["connect", "--dir", "/nonexistent/folder", "h"], 2],
    [["connect", "fe80::1%lo", "ls"], 1],
    [["connect", "[fe80::1%lo]:1", "ls"], 1],
    [["connect", `127.0.0.1:${v4}`, "ls"], 1],
    [["connect", `127.0.0.1:${v4}`, "--batch", "/nonexistent"], 1],
    [["frob"], 2],
    [["user", "frob"], 2],
    [["serve", "--port", "99999"], 2],
    [["serve", "--bogus"], 2],
  ];
  // A few at a time: each is a Deno process.
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(
      cases.slice(i, i + 4).map(async ([args, code]) => {
        const result = await runFts(args, {
          env: { FTS_CONFIG_DIR: config.path },
        });
        assertClean(args, result);
        const label = JSON.stringify(args);
        assert.equal(result.code, code, `${label}: ${result.stderr}`);
        assert.equal(result.stdout, "", label);
        assert.match(result.stderr, /^fts( serve)?: [^\n]+\n$/, label);
      }),
    );
  }
});

Deno.test("fts connect over plain TCP to an IPv6 zone address is one warning and one error line", async () => {
  await using config = await tempDir();
  const args = ["connect", "--no-tls", "[fe80::1%lo]:1", "ls"];
  const result = await runFts(args, { env: { FTS_CONFIG_DIR: config.path } });
  assertClean(args, result);
  assert.equal(result.code, 1, result.stderr);
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  assert.match(lines[0]!, /^fts: warning: the connection to \[fe80::1%lo\]:1 /);
  assert.match(lines[1]!, /^fts: Cannot connect to \[fe80::1%lo\]:1: /);
  assert.equal(lines.length, 2, result.stderr);
});
