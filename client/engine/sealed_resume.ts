/**
 * What makes an encrypted upload resumable: the age file of a resumed
 * upload must be the same bytes as the one cut, so the client keeps, while
 * such an upload is unfinished, the age header, the file key and the
 * payload nonce it was sealed with, beside the block hashes of the
 * plaintext sealed so far (a sidecar of common/chunk_sums.ts, mode 0600, in
 * `<config>/resume/`). Run again, the upload reuses them only if the local
 * file still has the same bytes there: the same key never seals two
 * different plaintexts (which would let the server combine them). The
 * sidecar is written before any ciphertext of the bytes it covers leaves,
 * and removed when the upload is stored or starts over.
 *
 * The file key is a secret at rest in the user's own config folder, like
 * the identity beside it, and only until the upload ends.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { base64 } from "@scure/base";
import {
  BlockHasher,
  decodeSidecar,
  encodeSidecar,
  hashFileBlocks,
  MIN_BLOCK,
} from "../../common/chunk_sums.ts";
import { removeQuietly } from "../../common/remove_quietly.ts";

/** The age material of an encrypted upload under way. */
export interface SealMaterial {
  /** The age header bytes. */
  readonly header: Uint8Array;
  /** The file key (16 bytes). */
  readonly fileKey: Uint8Array;
  /** The payload nonce (16 bytes). */
  readonly nonce: Uint8Array;
}

/** Where one encrypted upload's material is kept. */
export class SealKeeper {
  readonly #path: string;
  readonly #fields: Record<string, string | number>;
  #hasher = new BlockHasher(MIN_BLOCK);
  #material: SealMaterial | null = null;

  /**
   * The keeper of the upload of local file `localPath` (its `size` and
   * `mtime`) as remote `name` to `recipients`, in folder `dir`. The server
   * is not part of it: the same plaintext under the same material gives
   * the same ciphertext wherever it goes.
   */
  constructor(
    dir: string,
    key: {
      name: string;
      localPath: string;
      size: number;
      mtime: number;
      /** The recipients, sorted and joined: another set seals anew. */
      recipients: string;
    },
  ) {
    const id = createHash("sha256").update(JSON.stringify([
      key.name,
      key.localPath,
      key.size,
      key.mtime,
      key.recipients,
    ])).digest("hex").slice(0, 40);
    this.#path = join(dir, `${id}.seal`);
    this.#fields = { ...key };
  }

  /**
   * The material kept for this upload, if the local `file` (open; its
   * cursor is moved) still has the plaintext it sealed; else null (and
   * what was kept is removed). Never throws.
   */
  async reuse(file: Deno.FsFile): Promise<SealMaterial | null> {
    try {
      const sidecar = decodeSidecar(await Deno.readTextFile(this.#path));
      const { header, fileKey, nonce } = sidecar.fields;
      if (
        typeof header !== "string" || typeof fileKey !== "string" ||
        typeof nonce !== "string" || sidecar.block !== MIN_BLOCK ||
        Object.entries(this.#fields).some(([k, v]) => sidecar.fields[k] !== v)
      ) {
        throw new SyntaxError("Not this upload's material");
      }
      const mine = await hashFileBlocks(file, sidecar.length, sidecar.block);
      if (!equal(mine, sidecar.sums)) return this.#drop();
      await file.seek(0, Deno.SeekMode.Start);
      return {
        header: base64.decode(header),
        fileKey: base64.decode(fileKey),
        nonce: base64.decode(nonce),
      };
    } catch {
      return this.#drop();
    }
  }

  /**
   * Starts keeping `material` for a new (or reused) sealing from the
   * file's start: writes the sidecar at once.
   *
   * @throws the file system's error.
   */
  async start(material: SealMaterial): Promise<void> {
    this.#material = material;
    this.#hasher = new BlockHasher(MIN_BLOCK);
    await Deno.mkdir(join(this.#path, ".."), { recursive: true, mode: 0o700 });
    this.#write();
  }

  /**
   * Records `plain` as sealed next: the sidecar covers it before its
   * ciphertext is handed over.
   */
  sealed(plain: Uint8Array): void {
    if (this.#material === null) return;
    this.#hasher.update(plain);
    this.#write();
  }

  /** The upload is stored, or starts over: the material goes. */
  forget(): void {
    this.#material = null;
    removeQuietly(this.#path);
  }

  #drop(): null {
    removeQuietly(this.#path);
    return null;
  }

  #write(): void {
    const material = this.#material!;
    const text = encodeSidecar({
      block: MIN_BLOCK,
      length: this.#hasher.length,
      sums: this.#hasher.peek(),
      fields: {
        ...this.#fields,
        header: base64.encode(material.header),
        fileKey: base64.encode(material.fileKey),
        nonce: base64.encode(material.nonce),
      },
    });
    const temp = `${this.#path}.tmp`;
    Deno.writeTextFileSync(temp, text, { mode: 0o600 });
    Deno.renameSync(temp, this.#path);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}
