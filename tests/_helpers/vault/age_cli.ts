/**
 * Runs Debian's `age` command (apt package `age`) for the vault interop
 * tests. The tests must run in CI, so a missing `age` fails them with an
 * instruction instead of skipping them.
 *
 * @module
 */

/** What a finished `age` run left behind. */
export interface AgeRun {
  code: number;
  stdout: Uint8Array;
  stderr: string;
}

const MISSING =
  "The `age` command is missing: the vault interop tests need it. " +
  "Install it with `apt-get install -y age` (Debian/Ubuntu) and rerun.";

let checked: Promise<void> | null = null;

/** Throws a clear error unless `age` and `age-keygen` run. */
export function requireAge(): Promise<void> {
  checked ??= (async () => {
    for (const tool of ["age", "age-keygen"]) {
      try {
        const { success } = await new Deno.Command(tool, {
          args: ["--version"],
          stdout: "null",
          stderr: "null",
        }).output();
        if (!success) throw new Error(`${tool} --version failed`);
      } catch (error) {
        throw new Error(MISSING, { cause: error });
      }
    }
  })();
  return checked;
}

/** Runs `age ARGS…` with `stdin` piped in; never throws on a failed run. */
export async function runAge(
  args: readonly string[],
  stdin: Uint8Array = new Uint8Array(0),
): Promise<AgeRun> {
  await requireAge();
  const child = new Deno.Command("age", {
    args: [...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const written = writer.write(stdin).then(() => writer.close()).catch(
    () => {},
  );
  const output = await child.output();
  await written;
  return {
    code: output.code,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr),
  };
}

/**
 * Runs `age ARGS…` on a pseudo-terminal (util-linux `script`), typing
 * `lines` at it: `age` reads passphrases only from a terminal. Input and
 * output go through files named in `args`, not the terminal.
 */
export async function runAgeOnTty(
  args: readonly string[],
  lines: readonly string[],
): Promise<AgeRun> {
  await requireAge();
  const command = ["age", ...args].map(shellQuote).join(" ");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("script", {
      args: ["-qec", command, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(
      "The `script` command (util-linux/bsdutils) is missing: the passphrase " +
        "interop tests need it to give `age` a terminal.",
      { cause: error },
    );
  }
  const writer = child.stdin.getWriter();
  const typed = lines.map((line) => `${line}\n`).join("");
  const written = writer.write(new TextEncoder().encode(typed))
    .then(() => writer.close()).catch(() => {});
  const output = await child.output();
  await written;
  return {
    code: output.code,
    stdout: output.stdout,
    stderr: new TextDecoder().decode(output.stderr) +
      new TextDecoder().decode(output.stdout),
  };
}

/** Makes a new identity with `age-keygen -o PATH`; returns its recipient. */
export async function ageKeygen(path: string): Promise<string> {
  await requireAge();
  const output = await new Deno.Command("age-keygen", {
    args: ["-o", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `age-keygen failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  const text = await Deno.readTextFile(path);
  const match = /^# public key: (age1[0-9a-z]+)$/m.exec(text);
  if (match?.[1] === undefined) {
    throw new Error("age-keygen wrote no public key");
  }
  return match[1];
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

async function ageInstalled(): Promise<boolean> {
  try {
    await requireAge();
    return true;
  } catch {
    checked = null;
    return false;
  }
}

/**
 * Options for the interop tests: they run when `age` is installed, and are
 * reported as ignored otherwise, so README's test command works on a fresh
 * machine. CI installs `age` and sets FTS_REQUIRE_AGE=1, which makes a
 * missing `age` a failure instead.
 */
export const AGE_TEST: { ignore: boolean } = {
  ignore: Deno.env.get("FTS_REQUIRE_AGE") !== "1" && !(await ageInstalled()),
};
