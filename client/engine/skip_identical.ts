/**
 * The per-file decision of a folder transfer: a file that already exists
 * at the destination with the same size and the same content is skipped,
 * not sent again, as rsync does. Sizes are compared first (the server only
 * hashes a file whose size is the one asked), then SHA-256 hashes: the
 * server's (kept for the file, or computed) against one computed here from
 * the local file. A modification time alone never decides.
 *
 * It is a stage between the walk and the batch sender: the files the walk
 * yields are gathered into SUMS requests of up to MAX_SUMS names, several
 * in flight while the earlier answers are used, and only the files that
 * differ (or that could not be compared) come out, in the walk's order. A
 * request goes out when it is full or when the sender has caught up with
 * it, so a fast walk makes few large requests (5,000 files: five) and a
 * slow one never holds a file back. Without the feature "sums", or once
 * the server refused a SUMS (a user without the read permission), nothing
 * is compared and every file is sent.
 *
 * @module
 */

import { MAX_SUMS, type SumAnswer } from "../../protocol/messages.ts";
import { hashLocalFile } from "./local_hash.ts";
import { askSums } from "./remote_sums.ts";
import type { SessionCore } from "./session_core.ts";
import { Wakeup } from "../../common/wakeup.ts";

/** Files the stage holds ahead of the sender, at most. */
const MAX_AHEAD = 4 * MAX_SUMS;

/** What to compare for one file. */
export interface SkipProbe {
  /** The file's name on the server. */
  readonly remote: string;
  /** The local file's path. */
  readonly local: string;
  /** The size both should have: the side that has the file says. */
  readonly size: number;
  /**
   * Never identical when the local file starts like an age file: a
   * download that decrypts would not leave these bytes there.
   */
  readonly notAge?: boolean;
}

/** Options of {@linkcode skipIdentical}. */
export interface SkipOptions<I> {
  /**
   * What to compare for `item`, or null to pass it on as it is (nothing
   * there to compare with, as in a folder this transfer just made).
   */
  probe(item: I): SkipProbe | null;
  /** Called for each item found identical; it is not passed on. */
  identical(item: I, size: number): void;
  /** Stops the stage: the next pull throws its reason. */
  signal?: AbortSignal | undefined;
}

interface Slot<I> {
  readonly item: I;
  readonly probe: SkipProbe | null;
}

interface Batch<I> {
  readonly slots: Slot<I>[];
  probes: number;
  /** The server's answers for the slots with a probe; null until sent. */
  answers: Promise<(SumAnswer | undefined)[]> | null;
}

/**
 * The items of `source` that are not already at their destination,
 * identical; see the module comment.
 */
export async function* skipIdentical<I>(
  core: SessionCore,
  source: AsyncIterable<I>,
  options: SkipOptions<I>,
): AsyncGenerator<I> {
  if (!core.sums) {
    yield* source;
    return;
  }
  const { signal } = options;
  const iterator = source[Symbol.asyncIterator]();
  const batches: Batch<I>[] = [];
  let held = 0;
  let finished = false;
  let stopped = false;
  let usable = true;
  let failure: { error: unknown } | null = null;
  const toConsumer = new Wakeup();
  const toProducer = new Wakeup();

  const send = (batch: Batch<I>): void => {
    if (batch.answers !== null) return;
    const files = batch.slots.flatMap(({ probe }) =>
      probe ? [{ name: probe.remote, size: probe.size }] : []
    );
    batch.answers = files.length === 0 || !usable
      ? Promise.resolve([])
      : askSums(core, files, signal).catch(() => {
        // Refused (no read permission) or failed: compare nothing more;
        // the files go, and the sender reports a lost connection itself.
        usable = false;
        return [];
      });
  };

  const producer = (async () => {
    try {
      while (!stopped) {
        while (held >= MAX_AHEAD && !stopped) {
          await toProducer.wait();
        }
        if (stopped) break;
        const step = await iterator.next();
        if (step.done) break;
        let open = batches.at(-1);
        if (open === undefined || open.answers !== null) {
          open = { slots: [], probes: 0, answers: null };
          batches.push(open);
        }
        const probe = usable ? options.probe(step.value) : null;
        open.slots.push({ item: step.value, probe });
        held++;
        if (probe !== null && ++open.probes >= MAX_SUMS) send(open);
        toConsumer.wake();
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      toConsumer.wake();
    }
  })();

  try {
    for (;;) {
      const head = batches[0];
      if (head === undefined) {
        if (failure !== null) throw (failure as { error: unknown }).error;
        if (finished) return;
        await toConsumer.wait();
        continue;
      }
      // The sender caught up with a request still gathering: it goes now.
      send(head);
      const answers = await head.answers!;
      signal?.throwIfAborted();
      batches.shift();
      let next = 0;
      for (const { item, probe } of head.slots) {
        signal?.throwIfAborted();
        held--;
        toProducer.wake();
        if (probe !== null) {
          const answer = answers[next++];
          if (await sameContent(probe, answer)) {
            options.identical(item, probe.size);
            continue;
          }
        }
        yield item;
      }
    }
  } finally {
    stopped = true;
    toProducer.wake();
    await producer;
    await iterator.return?.();
  }
}

/** True when the server's `answer` shows the bytes of the local file. */
async function sameContent(
  probe: SkipProbe,
  answer: SumAnswer | undefined,
): Promise<boolean> {
  if (
    answer?.type !== "file" || answer.size !== probe.size ||
    answer.sha256 === undefined
  ) {
    return false;
  }
  const notAge = { notAge: probe.notAge ?? false };
  return await hashLocalFile(probe.local, probe.size, notAge) ===
    answer.sha256;
}
