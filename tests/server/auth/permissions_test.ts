import assert from "node:assert/strict";
import { FtsError } from "../../../protocol/errors.ts";
import type { MessageType } from "../../../protocol/messages.ts";
import {
  checkPermission,
  decideAccess,
  formatPermissions,
  isLoopbackHost,
  type Operation,
  operationOf,
  parseAnonymousMode,
  parsePermissions,
  type Permission,
  permissionDenied,
  permissionFor,
} from "../../../server/auth/permissions.ts";

const EXPECTED: Record<Operation, Permission> = {
  list: "read",
  get: "read",
  put: "write",
  mkdir: "write",
  rename: "write",
  delete: "delete",
  shutdown: "admin",
  usage: "read",
  sums: "read",
};

Deno.test("permissionFor() maps every operation to its permission", () => {
  for (const [op, perm] of Object.entries(EXPECTED)) {
    assert.equal(permissionFor(op as Operation), perm, op);
  }
});

Deno.test("operationOf() names the operation of each request and null for the rest", () => {
  const requests: MessageType[] = [
    "list",
    "get",
    "put",
    "mkdir",
    "rename",
    "delete",
    "shutdown",
    "sums",
  ];
  const free: MessageType[] = [
    "hello",
    "auth",
    "bye",
    "ping",
    "cancel",
    "data",
    "put_end",
    "welcome",
    "going_away",
    "pong",
    "ok",
    "error",
    "entries",
    "put_ready",
    "put_done",
    "get_ready",
    "sums_result",
    "get_end",
  ];
  for (const type of requests) assert.equal(operationOf(type), type);
  for (const type of free) assert.equal(operationOf(type), null, type);
});

Deno.test("checkPermission() returns a refusal naming the missing permission for each operation, and never throws", () => {
  const all: Permission[] = ["read", "write", "delete", "admin"];
  for (const [op, needed] of Object.entries(EXPECTED)) {
    const others = all.filter((p) => p !== needed);
    const check = checkPermission(others, op as Operation);
    assert.equal(check.ok, false, op);
    if (check.ok) continue;
    assert.equal(check.needed, needed);
    const error = permissionDenied(check);
    assert.ok(error instanceof FtsError);
    assert.equal(error.code, "permission_denied");
    assert.match(
      error.message,
      new RegExp(`^Permission denied: "${needed}" is required to `),
    );
    assert.deepEqual(checkPermission([needed], op as Operation), { ok: true });
  }
});

Deno.test("permissionDenied() words a refused delete as a sentence", () => {
  const check = checkPermission(["read", "write"], "delete");
  assert.ok(!check.ok);
  assert.equal(
    permissionDenied(check).message,
    'Permission denied: "delete" is required to remove files',
  );
});

Deno.test("parsePermissions() returns a canonical list without duplicates", () => {
  assert.deepEqual(parsePermissions("admin, write,read,write"), [
    "read",
    "write",
    "admin",
  ]);
  assert.deepEqual(parsePermissions("delete"), ["delete"]);
  assert.equal(formatPermissions(parsePermissions("write,read")), "read,write");
});

Deno.test("parsePermissions() refuses unknown and empty lists with a RangeError", () => {
  assert.throws(() => parsePermissions("read,exec"), {
    name: "RangeError",
    message: 'Unknown permission "exec": use a list of read,write,delete,admin',
  });
  assert.throws(() => parsePermissions(""), RangeError);
  assert.throws(() => parsePermissions(" , "), RangeError);
  assert.throws(() => parsePermissions("READ"), RangeError);
});

Deno.test("parseAnonymousMode() accepts read and write only", () => {
  assert.equal(parseAnonymousMode("read"), "read");
  assert.equal(parseAnonymousMode("write"), "write");
  assert.throws(() => parseAnonymousMode("admin"), RangeError);
  assert.throws(() => parseAnonymousMode(""), RangeError);
});

Deno.test("decideAccess() follows the anonymous-access table", () => {
  const anon = (perms: Permission[]) => ({ kind: "anonymous", perms });
  assert.deepEqual(decideAccess({ usersExist: true, host: "0.0.0.0" }), {
    kind: "login",
  });
  assert.deepEqual(decideAccess({ usersExist: true, host: "127.0.0.1" }), {
    kind: "login",
  });
  assert.deepEqual(
    decideAccess({ usersExist: false, host: "127.0.0.1" }),
    anon(["read", "write", "delete"]),
  );
  assert.deepEqual(
    decideAccess({ usersExist: false, host: "::1" }),
    anon(["read", "write", "delete"]),
  );
  assert.deepEqual(
    decideAccess({ usersExist: false, host: "127.0.0.1", anonymous: "read" }),
    anon(["read"]),
  );
  assert.deepEqual(
    decideAccess({ usersExist: false, host: "0.0.0.0", anonymous: "read" }),
    anon(["read"]),
  );
  assert.deepEqual(
    decideAccess({ usersExist: false, host: "192.0.2.7", anonymous: "write" }),
    anon(["read", "write", "delete"]),
  );
});

Deno.test("decideAccess() returns a refusal for a non-loopback bind without users or --anonymous", () => {
  for (const host of ["0.0.0.0", "::", "192.0.2.7", "example.org"]) {
    const decision = decideAccess({ usersExist: false, host });
    assert.equal(decision.kind, "refused", host);
    if (decision.kind !== "refused") continue;
    assert.equal(decision.reason, "no_accounts");
    assert.match(decision.message, /without user accounts/);
    assert.ok(decision.message.includes(JSON.stringify(host)));
    assert.match(decision.message, /--anonymous read/);
  }
});

Deno.test("decideAccess() returns a refusal for --anonymous while users exist", () => {
  const decision = decideAccess({
    usersExist: true,
    host: "0.0.0.0",
    anonymous: "read",
  });
  assert.equal(decision.kind, "refused");
  assert.ok(decision.kind === "refused");
  assert.equal(decision.reason, "anonymous_with_users");
  assert.match(
    decision.message,
    /^Cannot allow anonymous access while user accounts exist/,
  );
});

Deno.test("decideAccess() never grants admin to anonymous clients", () => {
  for (const anonymous of [undefined, "read", "write"] as const) {
    const policy = decideAccess({
      usersExist: false,
      host: "127.0.0.1",
      anonymous,
    });
    assert.equal(policy.kind, "anonymous");
    if (policy.kind === "anonymous") {
      assert.ok(!policy.perms.includes("admin"));
    }
  }
});

Deno.test("isLoopbackHost() knows loopback from wildcard and public addresses", () => {
  const yes = [
    "127.0.0.1",
    "127.1.2.3",
    "localhost",
    "LOCALHOST",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "::ffff:127.0.0.1",
  ];
  const no = [
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "128.0.0.1",
    "::2",
    "1::1",
    "::ffff:10.0.0.1",
    "127.0.0.1.example.org",
    "localhost.example.org",
    "",
  ];
  for (const host of yes) assert.equal(isLoopbackHost(host), true, host);
  for (const host of no) assert.equal(isLoopbackHost(host), false, host);
});
