/**
 * A client process that begins an upload and holds it: run as
 * `deno run -A held_upload.ts PORT NAME SIZE`, it connects to 127.0.0.1:PORT,
 * sends PUT for SIZE bytes and one DATA chunk, prints `ready` once the
 * server answered PUT_READY (or `refused CODE`), and then waits to be
 * killed. Tests use it to kill a client in the middle of an upload.
 *
 * @module
 */

import { RawClient } from "./raw_client.ts";

if (import.meta.main) {
  const [port, name, size] = Deno.args;
  const client = await RawClient.connect({
    hostname: "127.0.0.1",
    port: Number(port),
  });
  const id = client.id();
  await client.send({
    type: "put",
    id,
    name: name!,
    size: Number(size),
    overwrite: false,
  });
  const reply = await client.reply(id);
  if (reply?.type !== "put_ready") {
    console.log(`refused ${reply?.type === "error" ? reply.code : "?"}`);
    Deno.exit(1);
  }
  await client.send({
    type: "data",
    id,
    offset: 0,
    bytes: new Uint8Array(Math.min(Number(size), 64 * 1024)),
    zstd: false,
  });
  console.log("ready");
  // Held until the test kills this process (the timer keeps it running).
  setInterval(() => {}, 60_000);
}
