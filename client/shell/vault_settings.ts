/**
 * The user's side of the vault for `put`, `get`, `mput` and `mget`: whether
 * uploads are encrypted by default, which identity or passphrase to use,
 * and the remedies shown when one is missing. It turns command-line choices
 * into the engine's options (`SealOptions` for uploads, a `DecryptSource`
 * for downloads); the engine itself never reads files or asks anything.
 *
 * Defaults, in order: the command's flag (`--encrypt`, `--passphrase`,
 * `--no-encrypt`), then `FTS_ENCRYPT` (`1`/`true`/`yes` or `0`/`false`/`no`),
 * then `encrypt = true|false` in the config file (`~/.config/fts/config`),
 * else no encryption. Passphrases come from `FTS_PASSPHRASE`, else the
 * terminal; never from the command line.
 *
 * @module
 */

import { join } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import type { EncryptChoice } from "./command_parse.ts";
import type { DecryptSource } from "../engine/download.ts";
import { fileReason, ReasonError } from "../errors.ts";
import { askOnTerminal } from "../term/tty_secret.ts";
import type { SealOptions } from "../vault/age_header.ts";
import type { AgeIdentity } from "../vault/age_keys.ts";
import type { DecryptorOptions } from "../vault/decryptor.ts";
import { configDir, type EnvReader } from "../../common/config_dir.ts";

/** The environment variable a vault passphrase may come from. */
const PASSPHRASE_ENV = "FTS_PASSPHRASE";
/** The environment variable that turns default encryption on or off. */
const ENCRYPT_ENV = "FTS_ENCRYPT";
/** The client's settings file in the config folder. */
const SETTINGS_FILE = "config";

/** Where the vault settings come from. */
export interface VaultSettings {
  /** Environment: the config folder, `FTS_ENCRYPT`, `FTS_PASSPHRASE`. */
  readonly env: EnvReader;
  /**
   * Asks for a secret without echo; resolves to null when nobody can be
   * asked. Default: the controlling terminal (`/dev/tty`).
   */
  readonly askSecret?: (prompt: string) => Promise<string | null>;
}

/**
 * The encryption of one upload command: `SealOptions` for the engine, or
 * undefined to upload as is. `choice` is the command's flag, absent for the
 * user's default. Asks for the passphrase (twice) at most once per call.
 *
 * @throws {ReasonError} `not_found` when there is no identity, `bad_request`
 * when no passphrase can be had or the two answers differ; {@linkcode FtsError}
 * for an unreadable config file or identity.
 */
export async function sealOptionsFor(
  choice: EncryptChoice | undefined,
  settings: VaultSettings,
): Promise<SealOptions | undefined> {
  const resolved = choice ??
    (await encryptByDefault(settings) ? "identity" : "none");
  switch (resolved) {
    case "none":
      return undefined;
    case "identity": {
      const [identity] = await ownIdentities(settings);
      if (identity === undefined) {
        throw new ReasonError(
          "not_found",
          `no identity: run "fts key gen" to create one (or use --passphrase)`,
        );
      }
      return { recipients: [identity.recipient] };
    }
    case "passphrase":
      return { passphrase: await newPassphrase(settings) };
  }
}

/**
 * How downloads of one command open age files: the user's identities, and
 * the passphrase from `FTS_PASSPHRASE` or the terminal, asked only for a
 * passphrase-encrypted file and then reused for the command's other files.
 */
export function decryptSourceFor(settings: VaultSettings): DecryptSource {
  let identities: Promise<AgeIdentity[]> | null = null;
  let passphrase: Promise<string> | null = null;
  return async (): Promise<DecryptorOptions> => {
    identities ??= ownIdentities(settings);
    return {
      identities: await identities,
      passphrase: () => {
        passphrase ??= knownPassphrase(settings, "Passphrase: ");
        return passphrase;
      },
    };
  };
}

/**
 * Whether uploads are encrypted when no flag says: `FTS_ENCRYPT`, else the
 * config file's `encrypt`, else false.
 *
 * @throws {FtsError} `bad_request` for a value other than true or false.
 */
async function encryptByDefault(
  settings: VaultSettings,
): Promise<boolean> {
  const fromEnv = settings.env(ENCRYPT_ENV);
  if (fromEnv !== undefined && fromEnv !== "") {
    return parseSwitch(
      fromEnv,
      () =>
        `Cannot use ${ENCRYPT_ENV}=${
          JSON.stringify(fromEnv)
        }: it must be 1 or 0 (true or false, yes or no, on or off)`,
    );
  }
  const path = join(configDir({ env: settings.env }), SETTINGS_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new FtsError(
      "io",
      `Cannot read the settings ${JSON.stringify(path)}: ${
        fileReason(error) ??
          (error instanceof Error ? error.message : String(error))
      }`,
      { cause: error },
    );
  }
  return readSettings(text, path).encrypt ?? false;
}

/** What the settings file holds (keys it does not know are ignored). */
export interface Settings {
  encrypt?: boolean;
}

/**
 * Parses the settings file: `key = value` lines, `#` comments, blank lines.
 *
 * @throws {FtsError} `bad_request` naming the line of a malformed setting.
 * @example
 * ```ts
 * readSettings("# mine\nencrypt = true\n", "config"); // { encrypt: true }
 * ```
 */
export function readSettings(text: string, where: string): Settings {
  const settings: Settings = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const at = () => `${JSON.stringify(where)} line ${i + 1}`;
    const match = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw new FtsError(
        "bad_request",
        `Cannot read the settings ${at()}: expected "key = value"`,
      );
    }
    if (match[1] === "encrypt") {
      settings.encrypt = parseSwitch(
        match[2]!,
        () => `Cannot read the settings ${at()}: encrypt must be true or false`,
      );
    }
  }
  return settings;
}

function parseSwitch(value: string, message: () => string): boolean {
  const word = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(word)) return true;
  if (["0", "false", "no", "off"].includes(word)) return false;
  throw new FtsError("bad_request", message());
}

/** The user's identities; none when the identity file does not exist. */
async function ownIdentities(settings: VaultSettings): Promise<AgeIdentity[]> {
  // The age library loads only when identities are needed.
  const { identityPath, loadIdentities } = await import(
    "../vault/identity.ts"
  );
  try {
    return await loadIdentities(identityPath(settings.env));
  } catch (error) {
    if (error instanceof FtsError && error.code === "not_found") return [];
    throw error;
  }
}

/** A passphrase for a new file: the variable, or asked twice. */
async function newPassphrase(settings: VaultSettings): Promise<string> {
  const fromEnv = settings.env(PASSPHRASE_ENV);
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const ask = settings.askSecret ?? askOnTerminal;
  const first = await ask("Passphrase for the encrypted file: ");
  if (first === null) throw noPassphrase();
  if (first === "") {
    throw new ReasonError("bad_request", "the passphrase is empty");
  }
  const second = await ask("Same passphrase again: ");
  if (second !== first) {
    throw new ReasonError("bad_request", "the passphrases do not match");
  }
  return first;
}

/** The passphrase of an existing file: the variable, or asked once. */
async function knownPassphrase(
  settings: VaultSettings,
  prompt: string,
): Promise<string> {
  const fromEnv = settings.env(PASSPHRASE_ENV);
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const answer = await (settings.askSecret ?? askOnTerminal)(prompt);
  if (answer === null) throw noPassphrase();
  return answer;
}

function noPassphrase(): ReasonError {
  return new ReasonError(
    "bad_request",
    `a passphrase is needed and there is no terminal to ask on: set ${PASSPHRASE_ENV}`,
  );
}
