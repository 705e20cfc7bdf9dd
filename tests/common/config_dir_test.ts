import assert from "node:assert/strict";
import { join } from "node:path";
import { configDir } from "../../common/config_dir.ts";
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
