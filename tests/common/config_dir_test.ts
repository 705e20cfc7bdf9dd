import assert from "node:assert/strict";
import { join } from "node:path";
import { configDir, ensureConfigDir } from "../../common/config_dir.ts";
import { FtsError } from "../../protocol/errors.ts";

function envOf(
  vars: Record<string, string>,
): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("configDir() prefers FTS_CONFIG_DIR, then XDG_CONFIG_HOME, then HOME", () => {
  const all = {
    FTS_CONFIG_DIR: "/tmp/own",
    XDG_CONFIG_HOME: "/xdg",
    HOME: "/home/ana",
  };
  assert.equal(configDir({ env: envOf(all) }), "/tmp/own");
  assert.equal(
    configDir({ env: envOf({ XDG_CONFIG_HOME: "/xdg", HOME: "/home/ana" }) }),
    "/xdg/fts",
  );
  assert.equal(
    configDir({ env: envOf({ HOME: "/home/ana" }) }),
    "/home/ana/.config/fts",
  );
  // The XDG spec says relative paths are invalid and to be ignored.
  assert.equal(
    configDir({ env: envOf({ XDG_CONFIG_HOME: "rel", HOME: "/home/ana" }) }),
    "/home/ana/.config/fts",
  );
  assert.throws(
    () => configDir({ env: envOf({}) }),
    (error) => error instanceof FtsError && error.code === "bad_request",
  );
});

Deno.test("configDir() falls back to USERPROFILE when HOME is not set, as on Windows", () => {
  assert.equal(
    configDir({ env: envOf({ USERPROFILE: "/users/ana" }) }),
    join("/users/ana", ".config", "fts"),
  );
  assert.equal(
    configDir({ env: envOf({ HOME: "/home/ana", USERPROFILE: "/users/ana" }) }),
    "/home/ana/.config/fts",
  );
});

Deno.test("ensureConfigDir() creates the folder 0700 and tightens an existing one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fts_config_" });
  try {
    const home = join(dir, "home");
    const made = await ensureConfigDir({ env: envOf({ HOME: home }) });
    assert.equal(made, join(home, ".config", "fts"));
    assert.equal(Deno.statSync(made).mode! & 0o777, 0o700);
    await Deno.chmod(made, 0o755);
    await ensureConfigDir({ env: envOf({ HOME: home }) });
    assert.equal(Deno.statSync(made).mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
