import assert from "node:assert/strict";
import {
  parseCommand,
  type Word,
} from "../../../client/shell/command_parse.ts";
import { UsageError } from "../../../common/usage_error.ts";
import { helpText } from "../../../client/shell/help.ts";

const words = (...texts: string[]): Word[] =>
  texts.map((text) => ({ text, quoted: false }));

Deno.test("parseCommand() reads shutdown with and without --grace", () => {
  assert.deepEqual(parseCommand(words("shutdown")), {
    name: "shutdown",
    graceMs: null,
  });
  assert.deepEqual(parseCommand(words("shutdown", "--grace", "5")), {
    name: "shutdown",
    graceMs: 5_000,
  });
  assert.deepEqual(parseCommand(words("shutdown", "--grace=0.25")), {
    name: "shutdown",
    graceMs: 250,
  });
  assert.deepEqual(parseCommand(words("shutdown", "--grace", "0")), {
    name: "shutdown",
    graceMs: 0,
  });
});

Deno.test("parseCommand() refuses a bad shutdown", () => {
  for (
    const bad of [
      ["shutdown", "now"],
      ["shutdown", "--grace"],
      ["shutdown", "--grace", "-1"],
      ["shutdown", "--grace", "1e3"],
      ["shutdown", "--grace", "86401"],
      ["shutdown", "--grace", "5", "x"],
    ]
  ) {
    assert.throws(() => parseCommand(words(...bad)), UsageError, bad.join(" "));
  }
});

Deno.test("help lists shutdown and explains its grace", () => {
  assert.match(helpText(null), /shutdown \[--grace SECONDS\]/);
  assert.match(helpText("shutdown"), /admin permission/);
});
