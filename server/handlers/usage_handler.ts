/**
 * The USAGE request (feature "usage"): how much the server stores, holds
 * for uploads in flight and may hold, and the same for the client's account.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/messages.ts";
import type { HandlerContext, OpResult } from "./handler_context.ts";

/**
 * Answers USAGE with USAGE_REPORT.
 *
 * @throws {FtsError} `unsupported` when the session has no usage to report
 * (the feature was not offered), `io` when the free space cannot be read.
 */
export async function reportUsage(
  ctx: HandlerContext,
  message: MessageOf<"usage">,
): Promise<OpResult> {
  if (!ctx.usage) {
    throw new FtsError(
      "unsupported",
      'Cannot report usage: the feature "usage" was not negotiated',
    );
  }
  const report = ctx.usage(ctx.account?.() ?? null);
  await ctx.conn.send({ type: "usage_report", id: message.id, ...report });
  return { bytes: 0 };
}
