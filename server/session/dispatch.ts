/**
 * The session's dispatch table: what each frame a client sends does once
 * the session is open. Requests go to the {@linkcode RequestRunner}; DATA
 * and PUT_END feed the upload they belong to; anything a client may not
 * send here is a protocol error. LIST_NEXT gives its listing one more page.
 *
 * @module
 */

import { decompressChunk } from "../../common/compression.ts";
import type { FrameConn } from "../../common/frame_conn.ts";
import { FtsError, ProtocolError } from "../../protocol/errors.ts";
import type { Message, MessageOf } from "../../protocol/messages.ts";
import {
  isRequest,
  type RequestRunner,
  type SessionState,
} from "./request_runner.ts";

/** What {@linkcode dispatch} acts on: the session's parts. */
export interface DispatchTarget {
  /** The session's connection. */
  readonly conn: FrameConn;
  /** The session's requests in flight. */
  readonly requests: RequestRunner;
  /** Where the session is in its life now. */
  state(): SessionState;
  /** Closes the connection (BYE). */
  close(): void;
  /** Runs an AUTH. */
  login(auth: MessageOf<"auth">): Promise<void>;
  /** What the handshake agreed on for DATA frames. */
  dataRules(): DataRules;
}

/** What the handshake agreed on for DATA frames. */
export interface DataRules {
  /** True when the feature "zstd" was negotiated. */
  readonly zstd: boolean;
  /** Largest chunk in a DATA frame, after decompression. */
  readonly chunkSize: number;
}

/**
 * Acts on one message from the client. Resolves when the read loop may read
 * the next frame (for DATA: once the upload has taken the chunk, i.e. copied
 * it into a free write slot of its pipeline, or written it when the pipeline
 * has no slots; see handlers/upload_pipeline.ts).
 *
 * @throws {ProtocolError} for a message a client may not send here, and for
 * a compressed DATA chunk without "zstd" negotiated, not valid zstd, or
 * larger than the chunk size once decompressed.
 */
export async function dispatch(
  message: Message,
  target: DispatchTarget,
): Promise<void> {
  if (isRequest(message)) {
    await target.requests.start(message, () => target.state());
    return;
  }
  switch (message.type) {
    case "data": {
      const inbox = target.requests.inbox(message.id);
      if (!inbox) return;
      await inbox.deliver(
        message.zstd ? unpacked(message, target.dataRules()) : message,
      );
      return;
    }
    case "put_end":
      // Not awaited: the handler keeps it while it commits.
      void target.requests.inbox(message.id)?.deliver(message);
      return;
    case "list_next":
      target.requests.listCredits(message.id)?.grant();
      return;
    case "cancel":
      target.requests.cancel(
        message.id,
        new FtsError("cancelled", "Cancelled by the client"),
      );
      return;
    case "ping":
      await target.conn.send({ type: "pong", id: message.id });
      return;
    case "bye":
      target.close();
      return;
    case "auth":
      await target.login(message);
      return;
    default:
      // A second HELLO, or a message only a server sends.
      throw new ProtocolError(
        `A client may not send ${message.type.toUpperCase()} here`,
      );
  }
}

/** A compressed DATA message with its chunk decompressed. */
function unpacked(
  message: MessageOf<"data">,
  rules: DataRules,
): MessageOf<"data"> {
  if (!rules.zstd) {
    throw new ProtocolError(
      'A compressed DATA chunk, but "zstd" was not negotiated',
    );
  }
  const bytes = decompressChunk(message.bytes, rules.chunkSize);
  return { ...message, bytes, zstd: false };
}
