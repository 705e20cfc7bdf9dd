/**
 * Help texts of the client: the shell's `help`, its numbered menu, and
 * `fts connect --help`.
 *
 * @module
 */

import { commandName, USAGE } from "./command_parse.ts";

const DESCRIPTIONS: Record<keyof typeof USAGE, string> = {
  ls: "list a remote folder, numbered (number, size, modified, name)",
  cd: "change the remote folder (.. goes up, / is the top)",
  pwd: "show the remote folder",
  get: "download a file by name or by its number in the last ls",
  put: "upload a local file by path or by its number in the last lls",
  mget: "download several files (names, numbers, or patterns like *.txt)",
  mput: "upload several files (paths, numbers, or patterns like *.txt)",
  rm: "delete a remote file",
  mv: "rename or move a remote file",
  mkdir: "create a remote folder",
  lls: "list a local folder, numbered",
  lrm: "delete a local file",
  lcd: "change the local folder",
  lpwd: "show the local folder",
  lmkdir: "create a local folder",
  help: "show this help, or one command's",
  exit: "leave (also quit, bye, Ctrl-D)",
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
    return `${USAGE[name]}\n  ${DESCRIPTIONS[name]}\n`;
  }
  const names = Object.keys(USAGE) as (keyof typeof USAGE)[];
  const width = Math.max(...names.map((n) => USAGE[n].length));
  const lines = names.map((n) =>
    `  ${USAGE[n].padEnd(width)}  ${DESCRIPTIONS[n]}`
  );
  return [
    "Commands:",
    ...lines,
    "",
    "A bare NUMBER means that line of the last listing (ls for remote files, lls for",
    "local ones); if the file changed since, the command is refused. Quote a name that",
    'looks like a number ("2024") or has spaces ("my file.txt"). --overwrite replaces',
    "an existing file instead of saving the new one as (1) name.",
    "",
    `Menu: ${MENU}`,
  ].join("\n");
}

/** The text of `fts connect --help`. */
export const CONNECT_USAGE =
  `Usage: fts connect HOST[:PORT] [OPTIONS] [COMMAND ARGS…]

Opens a shell on an fts server (default port 12345; IPv6 as [::1]:12345).
With COMMAND, runs that one shell command and exits, e.g.
  fts connect example.org get report.pdf
  fts connect 127.0.0.1:2000 put --overwrite notes.txt

Options:
  --dir DIR        local folder (default: the current folder)
  --batch FILE     run the commands in FILE, one per line ("-" for standard input);
                   stops at the first failure; blank lines and # comments are skipped
  --quiet, -q      no progress bars and no confirmations
  --compress       offer zstd compression (helps on slow links; on fast links
                   such as a LAN it costs more time than it saves)
  --help, -h       show this help

Exit status: 0 success, 1 an operation failed, 2 usage error.
Type "help" in the shell for its commands.
`;
