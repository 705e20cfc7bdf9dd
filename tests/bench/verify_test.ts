import { strict as assert } from "node:assert";
import { join } from "node:path";
import {
  assertSameFile,
  assertSameTree,
  WrongBytesError,
} from "../../bench/verify.ts";

function withDir(fn: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync();
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("assertSameFile passes equal files and fails on one changed byte past the first MiB", () => {
  withDir((dir) => {
    const data = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => i % 251);
    Deno.writeFileSync(join(dir, "a"), data);
    Deno.writeFileSync(join(dir, "b"), data);
    assertSameFile(join(dir, "a"), join(dir, "b"));
    data[2 * 1024 * 1024 + 7] = data[2 * 1024 * 1024 + 7]! ^ 1;
    Deno.writeFileSync(join(dir, "b"), data);
    assert.throws(
      () => assertSameFile(join(dir, "a"), join(dir, "b")),
      WrongBytesError,
    );
  });
});

Deno.test("assertSameFile fails on a file of another size", () => {
  withDir((dir) => {
    Deno.writeFileSync(join(dir, "a"), new Uint8Array(10));
    Deno.writeFileSync(join(dir, "b"), new Uint8Array(9));
    assert.throws(
      () => assertSameFile(join(dir, "a"), join(dir, "b")),
      WrongBytesError,
    );
  });
});

Deno.test("assertSameTree fails on a missing, an extra or a changed file", () => {
  withDir((dir) => {
    const make = (name: string, files: Record<string, string>) => {
      for (const [path, text] of Object.entries(files)) {
        Deno.mkdirSync(join(dir, name, path, ".."), { recursive: true });
        Deno.writeTextFileSync(join(dir, name, path), text);
      }
      return join(dir, name);
    };
    const a = make("a", { "x/1": "one", "x/y/2": "two" });
    assertSameTree(a, make("same", { "x/1": "one", "x/y/2": "two" }));
    const cases = [
      make("missing", { "x/1": "one" }),
      make("extra", { "x/1": "one", "x/y/2": "two", "x/3": "" }),
      make("changed", { "x/1": "one", "x/y/2": "twO" }),
    ];
    for (const b of cases) {
      assert.throws(() => assertSameTree(a, b), WrongBytesError);
    }
  });
});
