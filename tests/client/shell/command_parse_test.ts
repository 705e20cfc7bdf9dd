import assert from "node:assert/strict";
import {
  parseCommand,
  splitWords,
} from "../../../client/shell/command_parse.ts";
import { UsageError } from "../../../common/usage_error.ts";

const parse = (line: string) => parseCommand(splitWords(line));

Deno.test("splitWords() groups quoted spaces and marks quoted words", () => {
  assert.deepEqual(splitWords(`put "my file.txt" 'a b' c\\ d plain`), [
    { text: "put", quoted: false },
    { text: "my file.txt", quoted: true },
    { text: "a b", quoted: true },
    { text: "c d", quoted: true },
    { text: "plain", quoted: false },
  ]);
  assert.deepEqual(splitWords(`  get   x  `).map((w) => w.text), ["get", "x"]);
  assert.deepEqual(splitWords(`get ""`).map((w) => w.text), ["get", ""]);
  assert.deepEqual(splitWords(`a "say \\"hi\\"" 'it''s'`).map((w) => w.text), [
    "a",
    'say "hi"',
    "its",
  ]);
  assert.deepEqual(
    splitWords("get 'Relatório 2024.pdf'")[1]?.text,
    "Relatório 2024.pdf",
  );
});

Deno.test("splitWords() refuses an unterminated quote", () => {
  assert.throws(() => splitWords(`get "abc`), UsageError);
  assert.throws(() => splitWords(`get 'abc`), UsageError);
  assert.throws(() => splitWords(`get abc\\`), UsageError);
});

Deno.test("parseCommand() reads numbers only from unquoted digits", () => {
  const numbered = parse("get 3");
  assert.equal(numbered.name, "get");
  assert.deepEqual(numbered.name === "get" && numbered.source, {
    text: "3",
    number: 3,
    pattern: false,
  });
  const named = parse('get "3"');
  assert.deepEqual(named.name === "get" && named.source, {
    text: "3",
    number: null,
    pattern: false,
  });
  const mixed = parse("rm 3a");
  assert.deepEqual(mixed.name === "rm" && mixed.target.number, null);
});

Deno.test("parseCommand() takes --overwrite where it makes sense", () => {
  assert.deepEqual(parse("put --overwrite a.txt b.txt"), {
    name: "put",
    source: { text: "a.txt", number: null, pattern: false },
    remote: "b.txt",
    overwrite: true,
  });
  assert.deepEqual(parse("get x --overwrite"), {
    name: "get",
    source: { text: "x", number: null, pattern: false },
    local: null,
    overwrite: true,
  });
  assert.throws(
    () => parse("rm --overwrite x"),
    /Unknown option "--overwrite" for rm/,
  );
  assert.throws(() => parse("get -f x"), /Unknown option "-f" for get/);
  // "--" ends options; a quoted word is never an option.
  const dashed = parse("get -- -x.txt");
  assert.equal(dashed.name === "get" && dashed.source.text, "-x.txt");
  assert.equal(parse('get "--overwrite"').name === "get", true);
});

Deno.test("parseCommand() takes --no-skip on get and put only", () => {
  assert.deepEqual(parse("put -r --no-skip photos"), {
    name: "put",
    source: { text: "photos", number: null, pattern: false },
    remote: null,
    overwrite: false,
    recursive: true,
    noSkip: true,
  });
  const get = parse("get --no-skip -r photos");
  assert.equal(get.name === "get" && get.noSkip, true);
  assert.throws(
    () => parse("mput --no-skip a"),
    /Unknown option "--no-skip" for mput/,
  );
});

Deno.test("parseCommand() takes --no-resume on get and mget (and put), not on mput", () => {
  assert.deepEqual(parse("get --no-resume big.iso"), {
    name: "get",
    source: { text: "big.iso", number: null, pattern: false },
    local: null,
    overwrite: false,
    noResume: true,
  });
  const mget = parse("mget --no-resume a b");
  assert.equal(mget.name === "mget" && mget.noResume, true);
  assert.throws(
    () => parse("mput --no-resume a"),
    /Unknown option "--no-resume" for mput/,
  );
});

Deno.test("parseCommand() knows every command and its aliases", () => {
  assert.deepEqual(parse("ls"), { name: "ls", path: null });
  assert.deepEqual(parse("dir docs"), { name: "ls", path: "docs" });
  assert.deepEqual(parse("mv 2 'new name'"), {
    name: "mv",
    from: { text: "2", number: 2, pattern: false },
    to: "new name",
    overwrite: false,
  });
  assert.deepEqual(parse("mkdir d"), { name: "mkdir", path: "d" });
  assert.deepEqual(parse("lls"), { name: "lls", path: null });
  assert.deepEqual(parse("lcd .."), { name: "lcd", path: ".." });
  assert.deepEqual(parse("lpwd"), { name: "lpwd" });
  assert.deepEqual(parse("lrm 1").name, "lrm");
  assert.deepEqual(parse("help get"), { name: "help", topic: "get" });
  for (const word of ["exit", "quit", "bye"]) {
    assert.deepEqual(parse(word), { name: "exit" });
  }
  const many = parse("mget 1 *.txt 'a*'");
  assert.deepEqual(
    many.name === "mget" && many.sources.map((s) => [s.number, s.pattern]),
    [
      [1, false],
      [null, true],
      [null, false],
    ],
  );
});

Deno.test("parseCommand() refuses unknown commands and wrong argument counts", () => {
  assert.throws(
    () => parse("frobnicate"),
    /^UsageError: Unknown command "frobnicate"/,
  );
  assert.throws(() => parse('"ls"'), /Unknown command "ls"/);
  assert.throws(
    () => parse("get"),
    /Usage: get \[-r\] \[-p\] \[--overwrite\] \[--raw\] \[--no-skip\] \[--no-resume\] \[--exclude GLOB\]… NAME\|NUMBER \[LOCAL\|-\]/,
  );
  assert.throws(() => parse("get a b c"), /Usage: get/);
  assert.throws(() => parse("mv a"), /Usage: mv/);
  assert.throws(() => parse("lpwd x"), /Usage: lpwd/);
  assert.throws(() => parse("ls\x1b[2J"), /Unknown command "ls\\u\{1b\}\[2J"/);
});
