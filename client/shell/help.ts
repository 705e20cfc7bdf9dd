/**
 * Help texts of the client: the shell's `help`, its numbered menu, and
 * `fts connect --help`.
 *
 * @module
 */

import { commandName, USAGE } from "./command_parse.ts";

const DESCRIPTIONS: Record<keyof typeof USAGE, string> = {
  ls:
    "list a remote folder or PATTERN, numbered (-l: modes, totals; -R: below)",
  cd: "change the remote folder (.. goes up, / is the top)",
  pwd: "show the remote folder",
  get:
    "download a file, or a folder with -r (decrypted if encrypted; -p keeps modes)",
  put:
    "upload a local file, or a folder with -r, into REMOTE if it is a folder",
  mget: "download several files (names, numbers, or patterns like *.txt)",
  mput: "upload several files (paths, numbers, or patterns like *.txt)",
  rm:
    "delete a remote file, PATTERN's files, or with -r a folder (asks unless -f)",
  mv: "rename a remote file, or move it into NEW when NEW is a folder",
  mkdir: "create a remote folder (-p: with its parents, if missing)",
  rmdir: "delete an empty remote folder",
  lls: "list a local folder or PATTERN, numbered",
  lrm: "delete a local file",
  lcd: "change the local folder",
  lpwd: "show the local folder",
  lmkdir: "create a local folder",
  df: "show the space used, reserved, allowed and free on the server",
  help: "show this help, or one command's",
  shutdown:
    "shut the server down gracefully (admins only); transfers get SECONDS",
  exit: "leave (also quit, bye, Ctrl-D)",
};

/** Widest usage column in the command list; longer usages wrap. */
const MAX_USAGE_COLUMN = 40;

const VAULT_HELP = `
Encryption happens on this computer, in the age format, before anything is
sent: the server stores and sees only ciphertext (plus names, sizes, times).
  --encrypt     to your own key ("fts key gen" creates it; "age -d -i
                ~/.config/fts/identity.txt FILE" opens the files too)
  --passphrase  to a passphrase, asked on the terminal (or FTS_PASSPHRASE)
  --no-encrypt  send in clear even when encryption is your default
To encrypt every upload by default, set FTS_ENCRYPT=1, or put the line
"encrypt = true" in ~/.config/fts/config.
`;

/** More about a command, shown by `help COMMAND`. */
const FOLDER_HELP = `
With -r, a folder is copied with everything in it, as cp -r and scp -r do:
when the destination is an existing folder the copy goes inside it, else the
destination becomes the copy (its parent must exist); an existing copy is
merged into. A folder picked by its number needs no -r. Files keep their
modification times; symbolic links are not followed (skipped and counted),
devices, FIFOs and sockets not sent. --exclude GLOB (repeatable) leaves out
what it matches: a GLOB without "/" matches names at any depth (*.tmp,
node_modules), one with "/" paths from the top of the folder (build/**).
A file already at the destination with the same size and content (compared
by SHA-256, never by time) is skipped, as rsync does, so a transfer that was
interrupted sends only what is missing when run again; --no-skip sends every
file. Files that differ are saved as (1) NAME unless --overwrite. Skipped
files keep their times and permission bits as they are.
Progress counts the files and bytes of the whole folder; one file that fails
does not stop the others, and every failure is reported at the end.
`;

const DETAILS: Partial<Record<keyof typeof USAGE, string>> = {
  put: `
Without REMOTE an encrypted file is stored as NAME.age.
An upload that was cut (client or server killed, connection lost) continues
where it stopped when run again: the server keeps the part it received (for
24 hours by default), the blocks it holds are compared by hash with the
local file, only those that differ and the rest are sent, and the whole file
is checked before it is stored; a file changed since is sent again from the
start. Encrypted uploads resume their ciphertext (to recipients; not with a
passphrase): the key is kept in the config folder until the file is stored.
--no-resume starts over.
${FOLDER_HELP}${VAULT_HELP}`,
  mput: `
Encrypted files are stored as NAME.age.${VAULT_HELP}`,
  get: `
-p gives the local file the permission bits it has on the server (put -p
stores yours there, never setuid/setgid/sticky or writable by group or
others; without -p the server keeps files private to its user).
A file that is age-encrypted (by fts or by the age tool) is decrypted with
your key, or a passphrase asked on the terminal (or FTS_PASSPHRASE), and saved
without its .age suffix unless LOCAL names the file. If it cannot be
decrypted, nothing is saved. --raw saves the encrypted file as it is.
A download that is interrupted (the connection drops, the server shuts down,
the client is stopped) is kept as a hidden partial file beside the block
hashes of what was written; the same get run again checks those bytes,
fetches again any block that was damaged, then the rest, and says "resumed at
X of Y". A file that changed on the server meanwhile is downloaded again from
the start. --no-resume starts over and removes the partial. (Needs a server
that resumes; an encrypted file being decrypted starts over.)
${FOLDER_HELP}"get -r /" copies the whole top folder: its contents go into the local
folder, or into LOCAL (made when missing).
`,
  mget: `
Encrypted files are decrypted as by get; --raw saves them as they are.
Interrupted downloads resume as with get; --no-resume starts them over.
`,
  rm: `
With a PATTERN (* and ?), every matching file of the folder is deleted
(folders never), each only if it is still the file listed. On a terminal,
more than one match is confirmed first unless -f; scripts are not asked.
With -r, a folder is deleted with everything in it; on a terminal it is
confirmed first unless -f.
`,
  ls: `
-l adds permission bits, exact sizes and times to the second, and a footer
with the total size of the files listed and the count of files and folders.
-R lists every folder below too, numbered on (a number picks from any of
them); with -l it ends with the total of the whole tree, as du would.
A large folder is printed as its pages arrive; the numbers of the first
10,000 lines are kept for later commands (name a file further down).
`,
  mkdir: `
-p makes the missing parent folders too, and is content when the folder is
already there.
`,
  rmdir: `
Only an empty folder is deleted; "rm -r FOLDER" deletes one with its contents.
`,
  df: `
For your account (when you logged in) and for the whole server: the bytes of
the stored files ("used": for an account, the files it uploaded), the bytes
uploads in progress have reserved, and the quota; then the free space on the
server's disk and how much of it the server keeps free.
`,
  shutdown: `
Like SIGTERM on the server: it stops accepting connections, tells every
client, and lets running transfers finish for SECONDS (default and maximum:
the server's own --grace, 30 s unless set). Needs the admin permission.
`,
};

/** The seed's numbered menu, shown at start and by an empty `help`. */
export const MENU = "1) list   2) upload   3) download   4) delete   5) exit\n";

/** The text of `help` or `help COMMAND`. */
export function helpText(topic: string | null): string {
  if (topic !== null) {
    const name = commandName(topic);
    if (!name) {
      return `No command "${
        topic.replace(/[^\x20-\x7e]/g, "?")
      }"; type "help".\n`;
    }
    return `${USAGE[name]}\n  ${DESCRIPTIONS[name]}\n${DETAILS[name] ?? ""}`;
  }
  const names = Object.keys(USAGE) as (keyof typeof USAGE)[];
  const width = Math.min(
    MAX_USAGE_COLUMN,
    Math.max(...names.map((n) => USAGE[n].length)),
  );
  // A usage too long for the column gets its description on the next line.
  const lines = names.map((n) =>
    USAGE[n].length > width
      ? `  ${USAGE[n]}\n  ${"".padEnd(width)}  ${DESCRIPTIONS[n]}`
      : `  ${USAGE[n].padEnd(width)}  ${DESCRIPTIONS[n]}`
  );
  return [
    "Commands:",
    ...lines,
    "",
    "A bare NUMBER means that line of the last listing (ls for remote files, lls for",
    "local ones); if the file changed since, the command is refused. Quote a name that",
    'looks like a number ("2024") or has spaces ("my file.txt"). --overwrite replaces',
    "an existing file instead of saving the new one as (1) name. In one-shot commands and",
    'batches a number needs a listing first; "./3" names a file called 3. mget and mput',
    "go on past a file that fails and report every failure and every renamed file;",
    '"get -r" and "put -r" copy folders the same way ("help get" tells how).',
    "",
    '!COMMAND runs COMMAND on this computer ($SHELL -c, in the local folder); "!" alone',
    "opens a local shell. Tab completes commands and remote or local names.",
    "",
    'End-to-end encryption: "help put" and "help get" tell how.',
    'Permission bits: "help get" tells what -p keeps.',
    "",
    `Menu: ${MENU}`,
  ].join("\n");
}

/** The text of `fts connect --help`. */
export const CONNECT_USAGE =
  `Usage: fts connect [USER@]HOST[:PORT] [OPTIONS] [COMMAND ARGS…]

Opens a shell on an fts server (default port 12345). An IPv6 address takes
a port only in brackets, [::1]:2000; written bare (::1, fe80::1%eth0) it
uses the default port. An address with a zone id (%eth0) needs --no-tls.
With COMMAND, runs that one shell command and exits, e.g.
  fts connect example.org get report.pdf
  fts connect ana@127.0.0.1:2000 put --overwrite notes.txt
  fts connect example.org put -r photos/

Options:
  --dir DIR        local folder (default: the current folder)
  --batch FILE     run the commands in FILE, one per line ("-" for standard input);
                   stops at the first failure; blank lines and # comments are skipped
  --quiet, -q      no progress bars and no confirmations
  --compress auto|off
                   auto (the default): zstd per chunk, only when the link is
                   slower than compressing and the chunk shrinks by 1/16 or
                   more (text on a slow link); off: never
  --checksum xxh128|sha256
                   how transfers are verified end to end: xxh128 (the
                   default; XXH3-128, about 3 times faster, used when the
                   server offers it, else SHA-256) or sha256 (always SHA-256)
  --limit RATE     at most RATE bytes per second in each direction, counted
                   on the wire: 500K, 10M, 1G (K, M, G are powers of 1024,
                   KB, MB, GB of 1000, as rsync reads them)
  --timeout SECONDS
                   give up when a transfer or request makes no progress (no
                   byte to or from the server) for this long (default 120;
                   0 waits forever)
  --retries N      when the connection drops, stalls or the server shuts down
                   or restarts, reconnect and run a transfer (or ls, cd, df)
                   again up to N times, after waits of 1, 2, 4… s (at most
                   30 s; default 5; 0 never retries); refusals are never retried
  --help, -h       show this help

Security options:
  --fingerprint SHA256:…
                   trust the server if it presents this key (the server prints
                   it at start); refuse it otherwise
  --accept-new     trust and remember a server seen for the first time without
                   asking (for scripts; a changed key is still refused)
  --ca FILE        also trust this CA (PEM) for servers started with --cert
  --password-file FILE
                   read the password for USER@ from the first line of FILE
                   (or set FTS_PASSWORD); otherwise it is asked on the terminal,
                   again after a refusal (three tries in all)
  --no-tls         plain TCP, not encrypted: only when the server runs with
                   --no-tls too, on a trusted network

Connections use TLS. On first contact with a server its key fingerprint is
shown and you are asked whether to trust it; the answer is kept per
HOST:PORT in known_hosts in the config folder ($FTS_CONFIG_DIR, else
$XDG_CONFIG_HOME/fts, else ~/.config/fts). Without a terminal, an unknown
server is refused unless --fingerprint or --accept-new is given. A server
whose key changed is always refused ("fts known-hosts rm HOST:PORT" forgets
the old key). A password is never accepted on the command line.

Exit status: 0 success, 1 an operation failed, 2 usage error. Errors are one
line on standard error; FTS_DEBUG=1 adds the stack of an unexpected one.
Type "help" in the shell for its commands.
`;
