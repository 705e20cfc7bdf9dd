/**
 * Handlers of the small requests: LIST, DELETE, RENAME and MKDIR.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import type { Entry, MessageOf } from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { HandlerContext, OpResult } from "./handler_context.ts";
import { checkExpect } from "./get_handler.ts";
import type { ListCredits } from "./list_credits.ts";

const NONE: OpResult = { bytes: 0 };

/**
 * LIST: one ENTRIES frame per page of the storage's listing, all but the
 * last flagged MORE. A page holds at most LIST_PAGE_SIZE (1,000) entries; a
 * base name is at most 255 bytes, at most 510 once JSON escapes quotes
 * (names hold no control characters), and an entry's other fields take
 * under 90, so a frame stays below 1,000 × 600 bytes, well under
 * MAX_PAYLOAD. A listing waits for one of the session's list slots, and
 * the next page is pulled from the storage only once the session's write
 * queue is below its limit, so a client that does not read holds at most
 * two pages per listing in the server, whatever the folder's size. With
 * `credits` (a LIST with `window`, feature "pull") each frame also waits
 * for a credit, so the storage is read at most one page ahead of what the
 * client asked for, however fast it reads.
 *
 * @throws the storage's errors, or `signal.reason` once aborted.
 */
export async function listFolder(
  ctx: HandlerContext,
  list: MessageOf<"list">,
  signal: AbortSignal,
  credits: ListCredits | null = null,
): Promise<OpResult> {
  using _slot = await ctx.lists.acquire(signal);
  const pages = ctx.storage.list(list.path)[Symbol.asyncIterator]();
  // Making a page may hold the event loop for a while (the local backend
  // reads a folder synchronously): each page takes a turn on the loop, so
  // every other session's pending input, and the end of this connection,
  // is seen first.
  const nextPage = async () => {
    using _turn = await ctx.turns.take(signal);
    return await pages.next();
  };
  try {
    // The page after the one being sent, to know whether MORE is set.
    let next = await nextPage();
    for (;;) {
      const page: Entry[] = next.done ? [] : next.value;
      await credits?.take(signal);
      await ctx.conn.queueBelow(ctx.writeQueueBytes);
      signal.throwIfAborted();
      if (!next.done) next = await nextPage();
      await ctx.conn.send({
        type: "entries",
        id: list.id,
        entries: ctx.modes ? page : page.map(({ mode: _, ...rest }) => rest),
        more: !next.done,
      });
      if (next.done) return NONE;
    }
  } finally {
    await pages.return?.();
  }
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
  return await okAfter(ctx, del.id, signal, () => ctx.storage.remove(del.name));
}

/**
 * RENAME: after the `expect` check on `from`. A folder is refused with
 * `unsupported` when the storage cannot rename folders atomically (see
 * StorageFeatures). Nothing is renamed once `signal` is aborted.
 *
 * @throws the storage's errors, `stale`, `unsupported`, or `signal.reason`.
 */
export async function renameFile(
  ctx: HandlerContext,
  rename: MessageOf<"rename">,
  signal: AbortSignal,
): Promise<OpResult> {
  signal.throwIfAborted();
  const { features } = ctx.storage;
  if (rename.expect || !features.atomicFolderRename) {
    const from = await ctx.storage.stat(rename.from);
    checkExpect("rename", rename.from, rename.expect, from);
    if (from.type === "dir" && !features.atomicFolderRename) {
      throw new FtsError(
        "unsupported",
        `Cannot rename ${
          quoteName(from.name)
        }: the server's storage cannot rename folders`,
      );
    }
  }
  return await okAfter(
    ctx,
    rename.id,
    signal,
    () =>
      ctx.storage.rename(rename.from, rename.to, {
        overwrite: rename.overwrite,
      }),
  );
}

/**
 * MKDIR: creates one folder, unless `signal` is aborted first.
 *
 * @throws the storage's errors, or `signal.reason`.
 */
export function makeFolder(
  ctx: HandlerContext,
  mkdir: MessageOf<"mkdir">,
  signal: AbortSignal,
): Promise<OpResult> {
  return okAfter(ctx, mkdir.id, signal, () => ctx.storage.mkdir(mkdir.name));
}

/**
 * Does the storage's `step` for request `id` unless `signal` is aborted
 * first, then replies OK.
 */
async function okAfter(
  ctx: HandlerContext,
  id: number,
  signal: AbortSignal,
  step: () => Promise<unknown>,
): Promise<OpResult> {
  signal.throwIfAborted();
  await step();
  await ctx.conn.send({ type: "ok", id });
  return NONE;
}
