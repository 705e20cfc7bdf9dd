import assert from "node:assert/strict";
import { join } from "node:path";
import { prepareConnector } from "../../../client/cli/connect_setup.ts";
import { hostKey, KnownHosts } from "../../../client/connect/known_hosts.ts";
import { askYesNoOn } from "../../../client/term/prompt.ts";
import { startServer } from "../../../server/server.ts";
import { fakeIo } from "../../_helpers/client/cli_io.ts";
import { tempDir, testIdentity } from "../../_helpers/server/security.ts";

const HOST = "127.0.0.1";

Deno.test("a connector asks about an unknown server through the shell's prompter while the shell owns stdin", async () => {
  await using root = await tempDir();
  await using config = await tempDir();
  const tls = await testIdentity("a");
  await using server = await startServer({
    root: root.path,
    host: HOST,
    port: 0,
    tls,
    log: () => {},
  });
  const target = { hostname: HOST, port: server.addr.port };
  const { io, stderr } = fakeIo({
    tty: true,
    env: { FTS_CONFIG_DIR: config.path },
    signal: new AbortController().signal,
  });
  const connector = await prepareConnector({}, {
    login: { user: null, target },
    io,
    quiet: true,
  });
  assert.ok(typeof connector !== "string");
  // The shell's line editor holds standard input, as during a reconnection.
  const shellReader = io.stdin.readable.getReader();
  const questions: string[] = [];
  connector.usePrompter({
    ask: (question) => {
      questions.push(question);
      return Promise.resolve(true);
    },
    secret: () => Promise.resolve(null),
  });
  const conn = await connector.connect(target);
  conn.close();
  shellReader.releaseLock();
  assert.equal(questions.length, 1);
  assert.match(
    questions[0]!,
    /is not known yet\.\nIts identity fingerprint is /,
  );
  assert.equal(
    await new KnownHosts(join(config.path, "known_hosts")).lookup(
      hostKey(HOST, server.addr.port),
    ),
    tls.fingerprint,
  );
  assert.equal(stderr.text(), "");
});

Deno.test("askYesNoOn() shows the question's first lines and asks on its last until yes or no", async () => {
  const prompts: string[] = [];
  const notices: string[] = [];
  const answers = ["maybe", "Y"];
  const lines = {
    readLine: (prompt: string) => {
      prompts.push(prompt);
      return Promise.resolve(answers.shift() ?? null);
    },
    notice: (text: string) => void notices.push(text),
  };
  assert.equal(await askYesNoOn(lines, "Line one.\nTrust it?"), true);
  assert.deepEqual(notices, ["Line one."]);
  assert.deepEqual(prompts, [
    "Trust it? (yes/no) ",
    'Please type "yes" or "no": ',
  ]);
  assert.equal(await askYesNoOn(lines, "Again?"), false, "end of input");
});
