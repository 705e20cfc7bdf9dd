import assert from "node:assert/strict";
import { TerminalLineSource } from "../../../client/term/line_input.ts";
import { Buffer } from "../../_helpers/client/cli_io.ts";

Deno.test("TerminalLineSource.notice() while a command runs clears the line a progress bar may be on", async () => {
  const out = new Buffer(true);
  const source = new TerminalLineSource(
    { readable: new ReadableStream(), setRaw: () => {} },
    out,
    () => 80,
  );
  source.notice("Notice from the server");
  assert.equal(out.text(), "\r\x1b[KNotice from the server\n");
  await source.close();
});
