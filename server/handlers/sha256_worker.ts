/**
 * SHA-256 on a worker thread, so an upload's hashing runs beside the
 * session's socket reads and the file writes instead of between them.
 *
 * The bytes are not copied to the worker: they live in SharedArrayBuffers
 * that both threads see, and each {@linkcode WorkerSha256.update} resolves
 * once the worker has hashed them, after which the caller may reuse the
 * memory. The worker's code is inline (a blob URL), so it also runs from
 * the single-file bundle.
 *
 * Each running hasher is one thread and one V8 isolate (a few MiB), so
 * {@linkcode WorkerSha256.start} runs at most {@linkcode MAX_HASH_WORKERS}
 * at once and answers null beyond that; the caller then hashes inline.
 *
 * @module
 */

/** Hash workers that may run at once in this process. */
export const MAX_HASH_WORKERS = Math.max(2, navigator.hardwareConcurrency);

const SOURCE = `
import { createHash } from "node:crypto";
let hash = createHash("sha256");
self.onmessage = ({ data }) => {
  try {
    if (data.op === "update") {
      hash.update(new Uint8Array(data.buffer, data.offset, data.length));
      self.postMessage({ op: "updated" });
    } else {
      self.postMessage({ op: "digest", hex: hash.digest("hex") });
      hash = createHash("sha256");
    }
  } catch (error) {
    self.postMessage({ op: "error", message: String(error) });
  }
};
`;

let sourceUrl: string | null = null;
let running = 0;

type Reply =
  | { op: "updated" }
  | { op: "digest"; hex: string }
  | { op: "error"; message: string };

interface Waiter {
  resolve(reply: Reply): void;
  reject(error: unknown): void;
}

/** See the module comment. */
export class WorkerSha256 implements Disposable {
  readonly #worker: Worker;
  /** One per message sent, answered in order. */
  readonly #waiting: Waiter[] = [];
  #failure: Error | null = null;
  #disposed = false;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const waiter = this.#waiting.shift();
      if (event.data.op === "error") {
        this.#fail(new Error(`SHA-256 worker: ${event.data.message}`));
        waiter?.reject(this.#failure);
      } else {
        waiter?.resolve(event.data);
      }
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`SHA-256 worker failed: ${event.message}`));
    };
  }

  /**
   * Starts a hasher, or returns null when {@linkcode MAX_HASH_WORKERS} are
   * running already or workers are unavailable.
   */
  static start(): WorkerSha256 | null {
    if (running >= MAX_HASH_WORKERS) return null;
    let worker: Worker;
    try {
      sourceUrl ??= URL.createObjectURL(
        new Blob([SOURCE], { type: "text/javascript" }),
      );
      worker = new Worker(sourceUrl, { type: "module" });
    } catch {
      return null;
    }
    running++;
    return new WorkerSha256(worker);
  }

  /**
   * Hashes `bytes`, a view of a SharedArrayBuffer, which must not change
   * until the promise resolves. Updates are hashed in call order.
   *
   * @throws {TypeError} if `bytes` is not backed by a SharedArrayBuffer;
   * an Error if the worker failed or was disposed.
   */
  update(bytes: Uint8Array): Promise<void> {
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("WorkerSha256.update() needs shared memory");
    }
    return this.#send({
      op: "update",
      buffer: bytes.buffer,
      offset: bytes.byteOffset,
      length: bytes.byteLength,
    }).then(() => {});
  }

  /** The SHA-256 (hex) of everything hashed; the hasher starts over. */
  async digest(): Promise<string> {
    const reply = await this.#send({ op: "digest" });
    if (reply.op !== "digest") throw new Error("SHA-256 worker: bad reply");
    return reply.hex;
  }

  /** Stops the worker; waiting calls reject. Idempotent. */
  [Symbol.dispose](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    running--;
    this.#worker.terminate();
    this.#fail(new Error("SHA-256 worker stopped"));
  }

  #send(message: unknown): Promise<Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#worker.postMessage(message);
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#failure);
  }
}
