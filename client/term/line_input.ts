/**
 * Where the shell's lines come from: a raw-mode terminal with line editing
 * and history, or plain lines from a pipe or file.
 *
 * @module
 */

import { LineReader } from "../../common/line_reader.ts";
import { displayName } from "./format.ts";
import { History, LineEditor } from "./line_editor.ts";
import { type TextSink, writeText } from "./progress.ts";

/** Longest line accepted from a pipe or file, in bytes. */
const MAX_LINE = 64 * 1024;

/** A source of command lines. */
export interface LineSource {
  /** The next line without its end, or null at the end of input. */
  readLine(prompt: string): Promise<string | null>;
  /** Shows a message without breaking the line being edited. */
  notice(text: string): void;
  /** Stops reading; a pending {@linkcode readLine} resolves to null. */
  close(): Promise<void>;
}

/** Decoded text chunks from a byte stream. */
class TextReader {
  readonly #bytes: LineReader;
  readonly #decoder = new TextDecoder();
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#bytes = new LineReader(stream, { maxBytes: MAX_LINE });
  }

  async read(): Promise<string | null> {
    if (this.#ended) return null;
    for (;;) {
      const bytes = await this.#bytes.readChunk();
      if (bytes === null) {
        this.#ended = true;
        const tail = this.#decoder.decode();
        return tail === "" ? null : tail;
      }
      const text = this.#decoder.decode(bytes, { stream: true });
      if (text !== "") return text;
    }
  }

  async close(): Promise<void> {
    this.#ended = true;
    await this.#bytes.cancel();
    this.#bytes.release();
  }
}

/** Lines from a pipe or a file; no prompt, no echo. */
export class PlainLineSource implements LineSource {
  readonly #lines: LineReader;
  readonly #notices: TextSink;

  constructor(stream: ReadableStream<Uint8Array>, notices: TextSink) {
    this.#lines = new LineReader(stream, { maxBytes: MAX_LINE });
    this.#notices = notices;
  }

  /** @throws {RangeError} for a line longer than {@linkcode MAX_LINE} bytes. */
  readLine(_prompt: string): Promise<string | null> {
    return this.#lines.readLine();
  }

  notice(text: string): void {
    writeText(this.#notices, text + "\n");
  }

  async close(): Promise<void> {
    await this.#lines.cancel();
    this.#lines.release();
  }
}

/** What {@linkcode TerminalLineSource} needs of standard input. */
export interface RawInput {
  readonly readable: ReadableStream<Uint8Array>;
  setRaw(mode: boolean): void;
}

/**
 * Lines typed on a terminal, edited in raw mode (see line_editor.ts). Raw
 * mode is on only while a line is being read, so command output and
 * Ctrl-C behave normally while a command runs.
 */
export class TerminalLineSource implements LineSource {
  readonly #stdin: RawInput;
  readonly #input: TextReader;
  readonly #out: TextSink;
  readonly #columns: () => number;
  readonly #history = new History();
  readonly #complete: Completer | undefined;
  #rest = "";
  #editing: { editor: LineEditor; prompt: string } | null = null;
  #closed = false;

  constructor(
    stdin: RawInput,
    out: TextSink,
    columns: () => number,
    options: { complete?: Completer } = {},
  ) {
    this.#stdin = stdin;
    this.#input = new TextReader(stdin.readable);
    this.#out = out;
    this.#columns = columns;
    this.#complete = options.complete;
  }

  async readLine(prompt: string): Promise<string | null> {
    if (this.#closed) return null;
    let editor = new LineEditor(this.#history);
    this.#stdin.setRaw(true);
    try {
      this.#editing = { editor, prompt };
      writeText(this.#out, editor.render(prompt, this.#columns()));
      for (;;) {
        const text = this.#rest !== "" ? this.#rest : await this.#input.read();
        this.#rest = "";
        if (text === null || this.#closed) {
          writeText(this.#out, "\r\n");
          return null;
        }
        const { results, rest } = editor.feed(text);
        this.#rest = rest;
        const last = results.at(-1);
        if (last?.kind === "submit") {
          writeText(this.#out, editor.render(prompt, this.#columns()) + "\r\n");
          return last.line;
        }
        if (last?.kind === "eof") {
          writeText(this.#out, "\r\n");
          return null;
        }
        if (last?.kind === "interrupt") {
          writeText(
            this.#out,
            editor.render(prompt, this.#columns()) + "^C\r\n",
          );
          editor = new LineEditor(this.#history);
          this.#editing = { editor, prompt };
        }
        if (last?.kind === "complete") await this.#completeIn(editor);
        writeText(this.#out, editor.render(prompt, this.#columns()));
      }
    } finally {
      this.#editing = null;
      this.#stdin.setRaw(false);
    }
  }

  /** Tab: completes the word before the cursor; lists several matches. */
  async #completeIn(editor: LineEditor): Promise<void> {
    if (!this.#complete) return;
    let completion: Completion | null;
    try {
      completion = await this.#complete(editor.beforeCursor);
    } catch {
      return; // a listing that failed offers nothing
    }
    if (!completion) return;
    editor.replaceBeforeCursor(completion.start, completion.text);
    if (completion.candidates.length > 1) {
      writeText(
        this.#out,
        `\r\n${layOut(completion.candidates, this.#columns())}`,
      );
    }
  }

  notice(text: string): void {
    const editing = this.#editing;
    if (!editing) {
      // A command is running: a progress bar may be on the line.
      writeText(this.#out, `\r\x1b[K${text}\n`);
      return;
    }
    writeText(
      this.#out,
      `\r\x1b[K${text}\r\n${
        editing.editor.render(editing.prompt, this.#columns())
      }`,
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#input.close();
  }
}

/** What a Tab does to the line. */
export interface Completion {
  /**
   * Replace the text before the cursor from this UTF-16 index on by
   * `text`.
   */
  readonly start: number;
  readonly text: string;
  /** The matches, to show when there are several (folders end with "/"). */
  readonly candidates: readonly string[];
}

/** Completes the line before the cursor (see shell/completion.ts). */
export type Completer = (before: string) => Promise<Completion | null>;

/** Most candidates a Tab lists. */
const MAX_CANDIDATES = 200;

/** Candidates in rows that fit `columns`, each row ending in CR LF. */
function layOut(candidates: readonly string[], columns: number): string {
  const shown = candidates.slice(0, MAX_CANDIDATES).map((c) =>
    displayName(c, 80)
  );
  if (candidates.length > MAX_CANDIDATES) {
    shown.push(`… ${candidates.length - MAX_CANDIDATES} more`);
  }
  const width = Math.max(...shown.map((c) => c.length)) + 2;
  const perRow = Math.max(1, Math.floor(columns / width));
  let text = "";
  for (let i = 0; i < shown.length; i += perRow) {
    text += shown.slice(i, i + perRow).map((c) => c.padEnd(width)).join("")
      .trimEnd() + "\r\n";
  }
  return text;
}
