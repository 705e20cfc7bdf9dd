/**
 * Handlers of the small requests: LIST, DELETE, RENAME and MKDIR.
 *
 * @module
 */

import type { Entry, MessageOf } from "../../protocol/messages.ts";
import type { HandlerContext, OpResult } from "../session/handler_context.ts";
import { checkExpect } from "./get_handler.ts";

/**
 * Entries per ENTRIES frame. A base name is at most 255 bytes, at most 510
 * once JSON escapes quotes (names hold no control characters), and an
 * entry's other fields take under 90, so a frame stays below
 * 4096 × 600 bytes ≈ 2.4 MiB, well under MAX_PAYLOAD.
 */
export const ENTRIES_PER_FRAME = 4096;

const NONE: OpResult = { bytes: 0 };

/**
 * LIST: one or more ENTRIES frames, all but the last flagged MORE. A
 * listing waits for one of the session's list slots, and each frame is
 * encoded only once the session's write queue is below its limit, so a
 * client that does not read holds at most a few listings in memory.
 *
 * @throws the storage's errors, or `signal.reason` once aborted.
 */
export async function listFolder(
  ctx: HandlerContext,
  list: MessageOf<"list">,
  signal: AbortSignal,
): Promise<OpResult> {
  using _slot = await ctx.lists.acquire(signal);
  // A listing may hold the event loop for a while (the local backend reads
  // a folder synchronously): let pending I/O, such as the end of this
  // connection, be seen first.
  await new Promise((resolve) => setTimeout(resolve, 0));
  signal.throwIfAborted();
  const entries = await ctx.storage.list(list.path);
  let start = 0;
  do {
    await ctx.conn.queueBelow(ctx.writeQueueBytes);
    signal.throwIfAborted();
    let part: Entry[] = entries.slice(start, start + ENTRIES_PER_FRAME);
    if (!ctx.modes) part = part.map(({ mode: _, ...rest }) => rest);
    start += ENTRIES_PER_FRAME;
    await ctx.conn.send({
      type: "entries",
      id: list.id,
      entries: part,
      more: start < entries.length,
    });
  } while (start < entries.length);
  return NONE;
}

/**
 * DELETE: removes a file or an empty folder, after the `expect` check.
 * Nothing is removed once `signal` is aborted (the connection is gone).
 *
 * @throws the storage's errors, `stale`, or `signal.reason`.
 */
export async function deleteFile(
  ctx: HandlerContext,
  del: MessageOf<"delete">,
  signal: AbortSignal,
): Promise<OpResult> {
  signal.throwIfAborted();
  if (del.expect) {
    checkExpect(
      "delete",
      del.name,
      del.expect,
      await ctx.storage.stat(del.name),
    );
  }
  signal.throwIfAborted();
  await ctx.storage.remove(del.name);
  await ctx.conn.send({ type: "ok", id: del.id });
  return NONE;
}

/**
 * RENAME: after the `expect` check on `from`. Nothing is renamed once
 * `signal` is aborted.
 *
 * @throws the storage's errors, `stale`, or `signal.reason`.
 */
export async function renameFile(
  ctx: HandlerContext,
  rename: MessageOf<"rename">,
  signal: AbortSignal,
): Promise<OpResult> {
  signal.throwIfAborted();
  if (rename.expect) {
    checkExpect(
      "rename",
      rename.from,
      rename.expect,
      await ctx.storage.stat(rename.from),
    );
  }
  signal.throwIfAborted();
  await ctx.storage.rename(rename.from, rename.to, {
    overwrite: rename.overwrite,
  });
  await ctx.conn.send({ type: "ok", id: rename.id });
  return NONE;
}

/**
 * MKDIR: creates one folder, unless `signal` is aborted first.
 *
 * @throws the storage's errors, or `signal.reason`.
 */
export async function makeFolder(
  ctx: HandlerContext,
  mkdir: MessageOf<"mkdir">,
  signal: AbortSignal,
): Promise<OpResult> {
  signal.throwIfAborted();
  await ctx.storage.mkdir(mkdir.name);
  await ctx.conn.send({ type: "ok", id: mkdir.id });
  return NONE;
}
