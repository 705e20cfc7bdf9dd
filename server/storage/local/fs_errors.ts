/**
 * The one place where file-system errors of the local backend become
 * {@linkcode FtsError}s. Messages name the action and the protocol name,
 * never a server path; the original error stays as `cause` for the log.
 *
 * @module
 */

import { type ErrorCode, FtsError } from "../../../protocol/errors.ts";
import { quoteName } from "../../../protocol/names.ts";

const BY_ERRNO: Record<string, [ErrorCode, string]> = {
  ENOENT: ["not_found", "no such file or folder"],
  EEXIST: ["exists", "it already exists"],
  EISDIR: ["is_directory", "it is a folder"],
  ENOTDIR: ["not_directory", "a part of the path is not a folder"],
  ENOTEMPTY: ["is_directory", "the folder is not empty"],
  EACCES: ["permission_denied", "the server may not access it"],
  EPERM: ["permission_denied", "the server may not access it"],
  ELOOP: ["permission_denied", "it is a symbolic link"],
  ENOSPC: ["no_space", "the server's disk is full"],
  EDQUOT: ["no_space", "the server's disk quota is exhausted"],
  EFBIG: ["too_large", "the file is too large for the server's disk"],
  ENAMETOOLONG: ["invalid_name", "the name is too long for the server's disk"],
  EINVAL: ["bad_request", "the operation is not possible"],
  EXDEV: ["bad_request", "the operation crosses file systems"],
  EROFS: ["permission_denied", "the server's disk is read-only"],
};

/**
 * Translates `error`, thrown while doing `action` ("read", "upload"…) to the
 * file the client calls `name`, into an FtsError. FtsErrors pass through.
 *
 * @example
 * ```ts
 * fsError(new Deno.errors.NotFound("…"), "read", "a.txt").message;
 * // 'Cannot read "a.txt": no such file or folder'
 * ```
 */
export function fsError(
  error: unknown,
  action: string,
  name: string,
): FtsError {
  if (error instanceof FtsError) return error;
  const errno = (error as { code?: unknown } | null)?.code;
  const known = typeof errno === "string" ? BY_ERRNO[errno] : undefined;
  const [code, reason] = known ?? byClass(error);
  return new FtsError(code, `Cannot ${action} ${quoteName(name)}: ${reason}`, {
    cause: error,
  });
}

function byClass(error: unknown): [ErrorCode, string] {
  if (error instanceof Deno.errors.NotFound) {
    return ["not_found", "no such file or folder"];
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return ["exists", "it already exists"];
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return ["is_directory", "it is a folder"];
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return ["not_directory", "a part of the path is not a folder"];
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return ["permission_denied", "the server may not access it"];
  }
  return ["io", "the server's disk reported an error"];
}
