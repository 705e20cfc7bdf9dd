/**
 * Swaps two names with renameat2(RENAME_EXCHANGE) in a loop, as a local
 * attacker would; run as its own process (it needs --allow-ffi):
 *
 *   deno run -A tests/_helpers/server/symlink_swapper.ts A B SECONDS
 *
 * Prints "ready" after the first burst of swaps, stops after SECONDS (at
 * most 120) or when standard input closes, leaves the names as they were
 * and prints the number of swaps.
 *
 * @module
 */

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;

const [a, b, seconds] = Deno.args;
if (a === undefined || b === undefined || seconds === undefined) {
  throw new TypeError("Usage: symlink_swapper.ts A B SECONDS");
}
const libc = Deno.dlopen("libc.so.6", {
  renameat2: {
    parameters: ["i32", "buffer", "i32", "buffer", "u32"],
    result: "i32",
  },
});
const encoder = new TextEncoder();
const pathA = encoder.encode(`${a}\0`);
const pathB = encoder.encode(`${b}\0`);
function swap(): void {
  const rc = libc.symbols.renameat2(
    AT_FDCWD,
    pathA,
    AT_FDCWD,
    pathB,
    RENAME_EXCHANGE,
  );
  if (rc !== 0) throw new Error("renameat2 failed");
}

let stop = false;
(async () => {
  // Standard input closing (or anything arriving) means stop.
  for await (const _ of Deno.stdin.readable) break;
  stop = true;
})();
const deadline = Date.now() + Math.min(Number(seconds), 120) * 1000;
// An odd burst, so the pauses between bursts (for the stdin watcher) find
// each layout in turn, never always the same one.
const BURST = 201;
let swaps = 0;
while (!stop && Date.now() < deadline) {
  for (let i = 0; i < BURST; i++) swap();
  swaps += BURST;
  if (swaps === BURST) console.log("ready");
  await new Promise((resolve) => setTimeout(resolve, 0));
}
if (swaps % 2 === 1) {
  swap();
  swaps++;
}
console.log(swaps);
libc.close();
Deno.exit(0);
