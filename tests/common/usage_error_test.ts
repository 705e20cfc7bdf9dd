import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../../common/usage_error.ts";
import { parseCommand, splitWords } from "../../client/shell/command_parse.ts";

Deno.test("parseCommandLine() turns node's parse errors into a UsageError, keeping their first sentence", () => {
  const options = { port: { type: "string" as const } };
  for (
    const [args, message] of [
      [["--bogus"], "Unknown option '--bogus'"],
      [["--port"], "Option '--port <value>' argument missing"],
      [["stray"], "Unexpected argument 'stray'"],
      [["--port", "-1"], "Option '--port' argument is ambiguous."],
    ] as const
  ) {
    assert.throws(
      () => parseCommandLine({ args: [...args], options, strict: true }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.message, message);
        assert.equal(error.name, "UsageError");
        return true;
      },
      args.join(" "),
    );
  }
  const { values } = parseCommandLine({
    args: ["--port", "1"],
    options,
    strict: true,
  });
  assert.equal(values.port, "1");
});

Deno.test("the shell's command parser throws the same UsageError as the command lines", () => {
  assert.throws(() => parseCommand(splitWords("frobnicate")), UsageError);
  assert.throws(() => splitWords(`get "abc`), UsageError);
});
