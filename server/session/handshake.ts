/**
 * Version and feature negotiation: HELLO in, WELCOME out.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import { type MessageOf, PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { MAX_UPLOADS_IN_FLIGHT } from "./request_runner.ts";

/** Protocol versions this server speaks, newest last. */
const SERVER_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/** What the server offers in a handshake. */
export interface Offer {
  /** The server's name and version, e.g. "fts-server/1". */
  readonly agent: string;
  /** Largest DATA chunk, after decompression. */
  readonly chunkSize: number;
  /** Features the server is willing to use. */
  readonly features: readonly string[];
  /** Whether the client must log in (WELCOME `auth`). Default false. */
  readonly auth?: boolean;
}

/**
 * The WELCOME for `hello`: the highest common version, the features both
 * sides named (in the server's order), whether a login is needed and how
 * many uploads a connection may have in flight.
 *
 * @throws {FtsError} `unsupported` when no version is common.
 * @example
 * ```ts
 * negotiate({ type: "hello", id: 0, versions: [1], features: ["zstd"], agent: "x" },
 *   { agent: "fts-server/1", chunkSize: 1 << 20, features: ["zstd"] }).features; // ["zstd"]
 * ```
 */
export function negotiate(
  hello: MessageOf<"hello">,
  offer: Offer,
): MessageOf<"welcome"> {
  const common = SERVER_VERSIONS.filter((v) => hello.versions.includes(v));
  if (common.length === 0) {
    throw new FtsError(
      "unsupported",
      `Cannot connect: the client speaks protocol versions [${
        hello.versions.slice(0, 8).join(", ")
      }], this server speaks [${SERVER_VERSIONS.join(", ")}]`,
    );
  }
  return {
    type: "welcome",
    id: 0,
    version: Math.max(...common),
    features: offer.features.filter((f) => hello.features.includes(f)),
    agent: offer.agent,
    auth: offer.auth ?? false,
    chunkSize: offer.chunkSize,
    uploads: MAX_UPLOADS_IN_FLIGHT,
  };
}
