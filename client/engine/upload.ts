/**
 * Uploads: PUT, the file as DATA frames read straight into the send
 * buffers, PUT_END with the SHA-256 computed while streaming, then the
 * server's PUT_DONE. With `encrypt`, the file is sealed in the age format on
 * the way (sealed_upload.ts) and the server only ever sees ciphertext.
 *
 * Every upload goes through the session's sender (upload_sender.ts), which
 * sends it without waiting for PUT_READY, beside the other uploads in
 * flight, and settles it when PUT_DONE comes.
 *
 * @module
 */

import type { Checksum } from "../../protocol/messages.ts";
import { type Expect, MAX_MODE } from "../../protocol/messages.ts";
import { ChunkCompressor } from "../../common/compression.ts";
import type { Progress, SessionCore } from "./session_core.ts";
import { ReasonError } from "../errors.ts";
import type { SealedFile } from "./sealed_upload.ts";
import type { SealKeeper } from "./sealed_resume.ts";
import { ResumeMismatch } from "./upload_sender.ts";
import type { SealOptions } from "../vault/age_header.ts";

/** Options of {@linkcode ClientSession.put}. */
export interface PutOptions {
  /** Replace an existing remote file atomically instead of keeping both. Default false. */
  overwrite?: boolean;
  /** Called after each chunk with the bytes sent so far. */
  onProgress?: (progress: Progress) => void;
  /** Aborts the upload; the server discards what it received. */
  signal?: AbortSignal;
  /**
   * Refuse unless the local file still has this size and modification time
   * (used when the user names a file by its number in a local listing).
   */
  expectLocal?: Expect;
  /**
   * Encrypt the file end to end, in the age format, to these recipients or
   * this passphrase, before any of it leaves. Default: sent as it is.
   */
  encrypt?: SealOptions;
  /**
   * Ask the server to keep the local file's permission bits (`put -p`);
   * it stores them without setuid/setgid/sticky and group or other write
   * permission. Needs the feature "mode" (else ignored). Default false: the
   * server's default (private to its user).
   */
  keepMode?: boolean;
  /**
   * Continue the upload where an interrupted one of the same file stopped,
   * when the server kept it (feature "resume"; files of more than one
   * chunk, not encrypted), and have the server keep this one if it is cut.
   * Default true; false starts over (`--no-resume`).
   */
  resume?: boolean;
}

/**
 * What the server stored, with the checksum of the bytes stored (the
 * ciphertext when encrypted) that both sides agreed on: `sha256`, or
 * `xxh128` when that feature was negotiated.
 */
export type PutResult = {
  /** The final remote name; `(1) name`… when the name was taken. */
  readonly name: string;
  /** Bytes stored: the age file's size when encrypted. */
  readonly size: number;
  /** True when the server holds an age-encrypted copy; absent otherwise. */
  readonly encrypted?: boolean;
  /**
   * Bytes an earlier, interrupted upload had left on the server, from
   * which this one continued; absent when it started at 0.
   */
  readonly resumedAt?: number;
} & Readonly<Checksum>;

/** An open local file about to be uploaded. */
export interface UploadSource extends Disposable {
  readonly file: Deno.FsFile;
  readonly size: number;
  readonly mtime: number | undefined;
  /** Permission bits (0o777), where the platform has them. */
  readonly mode: number | undefined;
}

/**
 * Opens `localPath` for upload, checking that it is a regular file and,
 * with `expectLocal`, that it is still the file the user saw listed. The
 * calls are synchronous: for such tiny metadata operations they cost a few
 * microseconds, an asynchronous call about 80. The path is checked before
 * it is opened, so a FIFO is never opened (which would wait for a writer).
 */
export function openUploadSource(
  localPath: string,
  expectLocal?: Expect,
): UploadSource {
  const named = Deno.statSync(localPath);
  if (named.isDirectory) {
    throw new ReasonError("is_directory", "it is a local folder");
  }
  if (!named.isFile) {
    throw new ReasonError("bad_request", "it is not a regular local file");
  }
  const file = Deno.openSync(localPath, { read: true });
  try {
    const info = file.statSync();
    if (!info.isFile) {
      throw new ReasonError("bad_request", "it is not a regular local file");
    }
    const mtime = info.mtime?.getTime();
    if (
      expectLocal &&
      (info.size !== expectLocal.size || mtime !== expectLocal.mtime)
    ) {
      throw new ReasonError(
        "stale",
        "the local file changed since it was listed",
      );
    }
    return {
      file,
      size: info.size,
      mtime,
      mode: info.mode === null ? undefined : info.mode & MAX_MODE,
      [Symbol.dispose]() {
        file.close();
      },
    };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** How one upload is sent. */
export interface SendOptions {
  overwrite: boolean;
  signal?: AbortSignal | undefined;
  /** Called with the count of content bytes as they are handed over. */
  onBytes?: ((n: number) => void) | undefined;
  /** Compresses chunks when zstd was negotiated (never encrypted ones). */
  compressor?: ChunkCompressor | undefined;
  /** Encrypt in the age format (see {@linkcode PutOptions.encrypt}). */
  encrypt?: SealOptions | undefined;
  /** Send the source's permission bits (see {@linkcode PutOptions.keepMode}). */
  keepMode?: boolean | undefined;
  /** See {@linkcode PutOptions.resume}; needs the feature. Default false. */
  resume?: boolean | undefined;
  /**
   * For an encrypted resumable upload: where its age material is kept
   * (sealed_resume.ts), or undefined when it cannot be (then it starts
   * over). Default: none.
   */
  sealKeeper?: ((source: UploadSource) => SealKeeper | undefined) | undefined;
}

/**
 * Sends one upload from `source` as remote `name` (already validated)
 * through the session's sender, which takes `source` over (it closes it).
 * Resolves with the server's answer, checked against what was sent.
 */
export async function sendUpload(
  core: SessionCore,
  source: UploadSource,
  name: string,
  options: SendOptions,
): Promise<PutResult> {
  let sealed: SealedFile | null = null;
  const resume = options.resume === true && core.resume;
  const keeper = options.encrypt && resume
    ? options.sealKeeper?.(source)
    : undefined;
  if (options.encrypt) {
    try {
      // A passphrase costs a moment of scrypt.
      sealed = await sealedFile(source, options.encrypt, keeper ?? null);
    } catch (error) {
      source[Symbol.dispose]();
      throw error;
    }
  }
  try {
    const result = await sendJob(core, source, name, options, sealed, {
      resume: resume && (sealed === null || keeper !== undefined),
    });
    keeper?.forget();
    return result;
  } catch (error) {
    // The server dropped what it kept: the next try seals anew.
    if (error instanceof ResumeMismatch) keeper?.forget();
    throw error;
  }
}

function sendJob(
  core: SessionCore,
  source: UploadSource,
  name: string,
  options: SendOptions,
  sealed: SealedFile | null,
  how: { resume: boolean },
): Promise<PutResult> {
  return core.uploads.send({
    source,
    name,
    overwrite: options.overwrite,
    mode: options.keepMode && core.modes ? source.mode : undefined,
    sealed,
    compressor: sealed ? undefined : options.compressor,
    signal: options.signal,
    onBytes: options.onBytes,
    resume: how.resume,
  });
}

/**
 * {@linkcode sendUpload} of the file `open` opens, resumed when the server
 * kept part of it; when the resumed upload fails verification because the
 * file changed since the cut (the server then drops its part), it is sent
 * once more from 0, so a changed file is never stored mixed. The decision
 * is made again on every call: a retry loop calls this again after a cut.
 */
export async function sendResumable(
  core: SessionCore,
  open: () => UploadSource,
  name: string,
  options: SendOptions,
): Promise<PutResult> {
  try {
    return await sendUpload(core, open(), name, options);
  } catch (error) {
    if (!(error instanceof ResumeMismatch)) throw error;
    return await sendUpload(core, open(), name, options);
  }
}

/** A compressor when zstd was negotiated, else undefined. */
export function compressorFor(core: SessionCore): ChunkCompressor | undefined {
  return core.zstd ? new ChunkCompressor(core.conn) : undefined;
}

/** `source` sealed for `seal`; the age modules load on the first use. */
async function sealedFile(
  source: UploadSource,
  seal: SealOptions,
  keeper: SealKeeper | null,
): Promise<SealedFile> {
  const [
    { SealedFile },
    { AgeEncryptor },
    { AgeHeader, sealHeader },
  ] = await Promise.all(
    [
      import("./sealed_upload.ts"),
      import("../vault/encryptor.ts"),
      import("../vault/age_header.ts"),
    ],
  );
  if (keeper === null) {
    return new SealedFile(source, new AgeEncryptor(await sealHeader(seal)));
  }
  // The material of an interrupted upload of this file seals the same
  // bytes as before, if the file still has them.
  const kept = await keeper.reuse(source.file);
  await source.file.seek(0, Deno.SeekMode.Start);
  const header = kept
    ? new AgeHeader(kept.header, kept.fileKey, true)
    : await sealHeader(seal);
  const enc = new AgeEncryptor(header, kept ? { nonce: kept.nonce } : {});
  await keeper.start({
    header: header.bytes,
    fileKey: header.exportFileKey(),
    nonce: enc.nonce,
  });
  return new SealedFile(source, enc, {
    onPlain: (plain) => keeper.sealed(plain),
    reused: kept !== null,
  });
}
