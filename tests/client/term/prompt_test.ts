import assert from "node:assert/strict";
import { askYesNo } from "../../../client/term/prompt.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";

Deno.test("askYesNo() takes yes, y, no and n in any case", async () => {
  for (
    const [answer, expected] of [
      ["yes\n", true],
      ["Y\n", true],
      [" no \n", false],
      ["N\r\n", false],
    ] as const
  ) {
    const { io, stderr } = fakeIo({ stdin: [answer] });
    assert.equal(await askYesNo(io, "Trust it?"), expected, answer);
    assert.equal(stderr.text(), "Trust it? (yes/no) ");
  }
});

Deno.test("askYesNo() asks again until the answer is yes or no, across chunks", async () => {
  const { io, stderr } = fakeIo({ stdin: ["sure\n", "ye", "s\n"] });
  assert.equal(await askYesNo(io, "Trust it?"), true);
  assert.equal(
    stderr.text(),
    'Trust it? (yes/no) Please type "yes" or "no": ',
  );
});

Deno.test("askYesNo() counts the end of input and an abort as no", async () => {
  const ended = fakeIo({ stdin: [] });
  assert.equal(await askYesNo(ended.io, "Trust it?"), false);
  const controller = new AbortController();
  controller.abort();
  const aborted = fakeIo({ stdin: ["yes\n"], signal: controller.signal });
  assert.equal(await askYesNo(aborted.io, "Trust it?"), false);
});
