/**
 * Permissions: what a logged-in (or anonymous) client may do, which
 * permission each request needs, and whether a server may start without
 * accounts.
 *
 * @module
 */

import { isLoopbackAddress } from "../../common/ip_address.ts";
import { FtsError } from "../../protocol/errors.ts";
import type { MessageType } from "../../protocol/messages.ts";

/** One permission a user can hold. */
export type Permission = "read" | "write" | "delete" | "admin";

/** Every permission, in canonical order. */
const PERMISSIONS: readonly Permission[] = [
  "read",
  "write",
  "delete",
  "admin",
];

/** Permissions of a user created without `--perm`: everything but admin. */
export const DEFAULT_USER_PERMISSIONS: readonly Permission[] = [
  "read",
  "write",
  "delete",
];

/** A request that needs a permission. */
export type Operation =
  | "list"
  | "get"
  | "put"
  | "mkdir"
  | "rename"
  | "delete"
  | "shutdown"
  | "usage"
  | "sums";

const REQUIRED: Record<Operation, Permission> = {
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

const ACTION: Record<Operation, string> = {
  list: "list folders",
  get: "download files",
  put: "upload files",
  mkdir: "create folders",
  rename: "rename or move files",
  delete: "remove files",
  shutdown: "shut down the server",
  usage: "see how much space is used",
  sums: "compare files",
};

/** Tells whether `value` is a {@linkcode Permission}. */
export function isPermission(value: unknown): value is Permission {
  return typeof value === "string" &&
    (PERMISSIONS as readonly string[]).includes(value);
}

/**
 * Parses a comma-separated list such as `read,write` (the `--perm` flag).
 * Spaces around items are ignored, duplicates collapse, and the result is in
 * canonical order.
 *
 * @throws {RangeError} for an empty list or an unknown permission.
 * @example
 * ```ts
 * parsePermissions("write,read"); // ["read", "write"]
 * ```
 */
export function parsePermissions(text: string): Permission[] {
  const items = text.split(",").map((item) => item.trim()).filter((item) =>
    item !== ""
  );
  if (items.length === 0) {
    throw new RangeError(
      `No permission given: use a list of ${PERMISSIONS.join(",")}`,
    );
  }
  for (const item of items) {
    if (!isPermission(item)) {
      throw new RangeError(
        `Unknown permission ${
          JSON.stringify(item.slice(0, 40))
        }: use a list of ${PERMISSIONS.join(",")}`,
      );
    }
  }
  return normalizePermissions(items as Permission[]);
}

/** Removes duplicates and sorts `perms` in canonical order. */
export function normalizePermissions(
  perms: Iterable<Permission>,
): Permission[] {
  const set = new Set(perms);
  return PERMISSIONS.filter((perm) => set.has(perm));
}

/** Renders `perms` as the `--perm` flag takes them, e.g. `read,write`. */
export function formatPermissions(perms: Iterable<Permission>): string {
  const list = normalizePermissions(perms);
  return list.length === 0 ? "(none)" : list.join(",");
}

/** The permission an operation needs (PROTOCOL.md). */
export function permissionFor(op: Operation): Permission {
  return REQUIRED[op];
}

/**
 * The operation a client request stands for, or null when the message needs
 * no permission of its own: handshake and connection messages, and the DATA
 * and PUT_END frames that continue an already admitted PUT. Server-to-client
 * message types also map to null (a session refuses those elsewhere).
 */
export function operationOf(type: MessageType): Operation | null {
  switch (type) {
    case "list":
    case "get":
    case "put":
    case "mkdir":
    case "rename":
    case "delete":
    case "shutdown":
    case "usage":
    case "sums":
      return type;
    case "hello":
    case "auth":
    case "bye":
    case "ping":
    case "cancel":
    case "list_next":
    case "data":
    case "put_end":
    case "welcome":
    case "going_away":
    case "pong":
    case "ok":
    case "error":
    case "entries":
    case "put_ready":
    case "put_done":
    case "get_ready":
    case "get_end":
    case "usage_report":
    case "sums_result":
      return null;
  }
}

/** Whether a client may run an operation, as {@linkcode checkPermission} decides. */
export type PermissionCheck =
  | { readonly ok: true }
  | {
    readonly ok: false;
    /** The permission the client lacks. */
    readonly needed: Permission;
    /** What it would allow, e.g. `remove files`. */
    readonly action: string;
  };

/**
 * Whether `perms` allow `op`; a refusal names the missing permission and
 * what it allows. The caller words it for the client once (see
 * {@linkcode permissionDenied}).
 *
 * @example
 * ```ts
 * checkPermission(["read"], "get"); // { ok: true }
 * checkPermission(["read"], "delete"); // { ok: false, needed: "delete", action: "remove files" }
 * ```
 */
export function checkPermission(
  perms: readonly Permission[],
  op: Operation,
): PermissionCheck {
  const needed = REQUIRED[op];
  if (perms.includes(needed)) return { ok: true };
  return { ok: false, needed, action: ACTION[op] };
}

/**
 * The error a refused {@linkcode PermissionCheck} is sent as:
 * `Permission denied: "delete" is required to remove files`.
 */
export function permissionDenied(
  refusal: Extract<PermissionCheck, { ok: false }>,
): FtsError {
  return new FtsError(
    "permission_denied",
    `Permission denied: "${refusal.needed}" is required to ${refusal.action}`,
  );
}

/** The `--anonymous` flag's values. */
export type AnonymousMode = "read" | "write";

/**
 * Parses the value of `--anonymous`.
 *
 * @throws {RangeError} unless `text` is `read` or `write`.
 */
export function parseAnonymousMode(text: string): AnonymousMode {
  if (text === "read" || text === "write") return text;
  throw new RangeError(
    `Unknown anonymous access ${
      JSON.stringify(text.slice(0, 40))
    }: use "read" or "write"`,
  );
}

/** Inputs of {@linkcode decideAccess}. */
export interface AccessOptions {
  /** True when the state folder holds at least one user. */
  usersExist: boolean;
  /**
   * The address the server listens on. Pass the bound address
   * (`listener.addr.hostname`) when you have it.
   */
  host: string;
  /** The `--anonymous` flag, when given. */
  anonymous?: AnonymousMode | undefined;
}

/** How clients get their permissions, once a server may start. */
export type AccessPolicy =
  | { readonly kind: "login" }
  | { readonly kind: "anonymous"; readonly perms: readonly Permission[] };

/**
 * Why a server must not start: `--anonymous` while accounts exist, or no
 * accounts and no `--anonymous` on an address other than loopback.
 */
export type AccessRefusal = {
  readonly kind: "refused";
  readonly reason: "anonymous_with_users" | "no_accounts";
  /** One line for the person who started the server. */
  readonly message: string;
};

/** What {@linkcode decideAccess} decides. */
export type AccessDecision = AccessPolicy | AccessRefusal;

/** A server that must not start, as `startServer` reports it. */
export class AccessRefusedError extends FtsError {
  /** Why, as {@linkcode AccessRefusal} says. */
  readonly reason: AccessRefusal["reason"];
  constructor(refusal: AccessRefusal) {
    super("permission_denied", refusal.message);
    this.name = "AccessRefusedError";
    this.reason = refusal.reason;
  }
}

const ANONYMOUS_PERMS: Record<AnonymousMode, readonly Permission[]> = {
  read: ["read"],
  write: ["read", "write", "delete"],
};

/**
 * Decides whether a server may start and what anonymous clients may do.
 *
 * | users | host       | --anonymous | result                              |
 * |-------|------------|-------------|-------------------------------------|
 * | yes   | any        | none        | every connection logs in            |
 * | yes   | any        | given       | refused: the two do not mix         |
 * | no    | loopback   | none        | anonymous read, write, delete       |
 * | no    | any        | read        | anonymous read                      |
 * | no    | any        | write       | anonymous read, write, delete       |
 * | no    | elsewhere  | none        | refused                             |
 *
 * Anonymous clients never get `admin`: whoever started a server without
 * accounts stops it with a signal (Ctrl-C, SIGTERM), and on a shared machine
 * any local user could otherwise shut it down.
 *
 * A server that must not start gets a refusal, with the reason and the
 * line to show.
 */
export function decideAccess(options: AccessOptions): AccessDecision {
  const { usersExist, host, anonymous } = options;
  if (usersExist) {
    if (anonymous !== undefined) {
      return {
        kind: "refused",
        reason: "anonymous_with_users",
        message:
          `Cannot allow anonymous access while user accounts exist: every connection logs in (remove --anonymous ${anonymous})`,
      };
    }
    return { kind: "login" };
  }
  if (anonymous !== undefined) {
    return { kind: "anonymous", perms: ANONYMOUS_PERMS[anonymous] };
  }
  if (isLoopbackHost(host)) {
    return { kind: "anonymous", perms: ANONYMOUS_PERMS.write };
  }
  return {
    kind: "refused",
    reason: "no_accounts",
    message: `Cannot listen on ${
      JSON.stringify(host)
    } without user accounts: add one with "fts user add NAME", or allow anonymous access with "--anonymous read" or "--anonymous write"`,
  };
}

/**
 * Tells whether `host` is a loopback address: `localhost`, `127.0.0.0/8`,
 * `::1` or an IPv4-mapped loopback address. Wildcards (`0.0.0.0`, `::`) are
 * not loopback.
 */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h === "localhost" || h === "localhost.") return true;
  return isLoopbackAddress(h);
}
