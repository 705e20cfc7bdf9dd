/**
 * `fts` run as a subprocess under the V8 inspector, to learn which scripts
 * it actually loaded: every module V8 parses is reported by the
 * inspector's `Debugger.scriptParsed` event with its URL (`file:///…` for
 * the program's own files and npm packages, `node:…` and `ext:…` for
 * Deno's built-in modules). Nothing is inferred from the source.
 *
 * @module
 */

import { MAIN } from "./fts_process.ts";

/** The outcome of a run under the inspector. */
export interface ScriptLog {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The URLs of the scripts V8 parsed, in order, empty ones left out. */
  readonly scripts: string[];
}

/**
 * Runs `fts ARGS…` (`deno run -A --inspect-wait main.ts ARGS…`) to its
 * end and lists the scripts it loaded.
 */
export async function runWithScriptLog(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<ScriptLog> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--inspect-wait=127.0.0.1:0", MAIN, ...args],
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const lines = child.stderr.pipeThrough(new TextDecoderStream())
    .getReader();
  let stderr = "";
  let url: string | null = null;
  while (url === null) {
    const { value, done } = await lines.read();
    if (done) break;
    stderr += value;
    url = /ws:\/\/127\.0\.0\.1:\d+\/\S+/.exec(stderr)?.[0] ?? null;
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      stderr += value;
    }
  })();
  const scripts: string[] = [];
  if (url !== null) await listScripts(url, scripts);
  const status = await child.status;
  await rest;
  return {
    code: status.code,
    stdout: await stdout,
    // The inspector's own lines are not the program's.
    stderr: stderr.split("\n").filter((line) =>
      !/^(Debugger listening on|Visit chrome|Deno is waiting|Debugger session started|Program finished)/
        .test(line)
    ).join("\n"),
    scripts,
  };
}

/**
 * Attaches to the inspector at `url`, lets the program run and collects
 * the URL of every script parsed until its context ends (the program then
 * waits for the inspector to leave, so the socket is closed there).
 */
function listScripts(url: string, scripts: string[]): Promise<void> {
  const socket = new WebSocket(url);
  let id = 0;
  const send = (method: string) =>
    socket.send(JSON.stringify({ id: ++id, method, params: {} }));
  return new Promise((resolve, reject) => {
    socket.onopen = () => {
      send("Runtime.enable");
      send("Debugger.enable");
      send("Runtime.runIfWaitingForDebugger");
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.method === "Debugger.scriptParsed") {
        const parsed: string = message.params.url;
        if (parsed !== "") scripts.push(parsed);
      } else if (message.method === "Runtime.executionContextDestroyed") {
        socket.close();
      }
    };
    socket.onerror = (event) =>
      reject(new Error(`inspector: ${(event as ErrorEvent).message}`));
    socket.onclose = () => resolve();
  });
}
