import { strict as assert } from "node:assert";
import {
  parseStat,
  processTree,
  treeCpuSeconds,
} from "../../bench/proc_stats.ts";

Deno.test("parseStat reads the parent and CPU ticks past a command name with spaces and parentheses", () => {
  const text = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 " +
    "250 150 30 20 20 0 3 0 12345 1000000 500 18446744073709551615\n";
  assert.deepEqual(parseStat(text), { ppid: 17, cpu: 4, childrenCpu: 0.5 });
});

Deno.test("parseStat refuses text that is not a stat line", () => {
  assert.throws(() => parseStat("hello"), SyntaxError);
});

Deno.test("processTree finds a child this process started", async () => {
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    assert.ok(processTree(Deno.pid).includes(child.pid));
    assert.ok(treeCpuSeconds(Deno.pid) >= 0);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
