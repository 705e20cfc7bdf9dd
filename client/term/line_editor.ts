/**
 * The state of one line being edited on a raw-mode terminal: keys in,
 * edits and the escape sequence that redraws the line out. Pure: the caller
 * reads the keys and writes the redraw.
 *
 * Keys: printable text inserts; Left/Right, Home/End (and Ctrl-A/Ctrl-E)
 * move; Backspace and Delete erase; Up/Down walk the history; Ctrl-U and
 * Ctrl-K cut to the start or end; Ctrl-W erases a word; Tab asks the
 * caller to complete the word before the cursor; Enter submits;
 * Ctrl-C abandons the line; Ctrl-D on an empty line ends input.
 *
 * @module
 */

/** What a key did. */
export type EditResult =
  | { readonly kind: "edit" }
  | { readonly kind: "submit"; readonly line: string }
  | { readonly kind: "interrupt" }
  /** Tab: the caller completes the word before the cursor. */
  | { readonly kind: "complete" }
  | { readonly kind: "eof" };

const MAX_HISTORY = 500;

/** Most recent last. Shared by every line of a shell. */
export class History {
  readonly entries: string[] = [];

  add(line: string): void {
    if (line.trim() === "" || this.entries.at(-1) === line) return;
    this.entries.push(line);
    if (this.entries.length > MAX_HISTORY) this.entries.shift();
  }
}

/** One line being edited. */
export class LineEditor {
  readonly #history: History;
  #chars: string[] = [];
  #cursor = 0;
  /** Index into history while browsing it; history length = the new line. */
  #browse: number;
  #draft: string[] = [];
  #pending = "";

  constructor(history: History) {
    this.#history = history;
    this.#browse = history.entries.length;
  }

  /** The text of the line. */
  get text(): string {
    return this.#chars.join("");
  }

  /** The cursor position, in characters. */
  get cursor(): number {
    return this.#cursor;
  }

  /** The text before the cursor. */
  get beforeCursor(): string {
    return this.#chars.slice(0, this.#cursor).join("");
  }

  /**
   * Replaces the text before the cursor from UTF-16 index `start` of
   * {@linkcode beforeCursor} on by `text`; the cursor ends after it.
   */
  replaceBeforeCursor(start: number, text: string): void {
    const kept = Array.from(this.beforeCursor.slice(0, start));
    const inserted = Array.from(text);
    this.#chars = [...kept, ...inserted, ...this.#chars.slice(this.#cursor)];
    this.#cursor = kept.length + inserted.length;
  }

  /**
   * Feeds decoded input. Returns what happened, in order; input after a
   * submit, interrupt or eof is returned in `rest` for the next line.
   */
  feed(input: string): { results: EditResult[]; rest: string } {
    const results: EditResult[] = [];
    let text = this.#pending + input;
    this.#pending = "";
    while (text.length > 0) {
      const { consumed, result } = this.#key(text);
      if (consumed === 0) {
        this.#pending = text; // an escape sequence cut in two
        break;
      }
      text = text.slice(consumed);
      if (result) {
        results.push(result);
        if (result.kind !== "edit") return { results, rest: text };
      }
    }
    return { results, rest: "" };
  }

  /**
   * The bytes that redraw the line after `prompt` (which must be plain
   * text) on a terminal `columns` wide, scrolling sideways when the line is
   * too long.
   */
  render(prompt: string, columns: number): string {
    const room = Math.max(8, columns - 1 - Array.from(prompt).length);
    let start = 0;
    if (this.#chars.length > room) {
      start = Math.max(
        0,
        Math.min(
          this.#cursor - Math.floor(room / 2),
          this.#chars.length - room,
        ),
      );
    }
    const visible = this.#chars.slice(start, start + room).map(safeChar);
    const back = start + visible.length - this.#cursor;
    return `\r${prompt}${visible.join("")}\x1b[K${
      back > 0 ? `\x1b[${back}D` : ""
    }`;
  }

  #key(text: string): { consumed: number; result: EditResult | null } {
    const ch = text[0]!;
    const code = text.codePointAt(0)!;
    if (ch === "\x1b") return this.#escape(text);
    switch (code) {
      case 0x0d: // Enter
      case 0x0a: {
        const line = this.text;
        this.#history.add(line);
        // A CR LF pair is one Enter.
        const consumed = code === 0x0d && text[1] === "\n" ? 2 : 1;
        return { consumed, result: { kind: "submit", line } };
      }
      case 0x03: // Ctrl-C
        return { consumed: 1, result: { kind: "interrupt" } };
      case 0x09: // Tab
        return { consumed: 1, result: { kind: "complete" } };
      case 0x04: // Ctrl-D
        if (this.#chars.length === 0) {
          return { consumed: 1, result: { kind: "eof" } };
        }
        return this.#edited(1, () => this.#deleteAt(this.#cursor));
      case 0x7f: // Backspace
      case 0x08:
        return this.#edited(1, () => {
          if (this.#cursor > 0) this.#deleteAt(--this.#cursor);
        });
      case 0x01: // Ctrl-A
        return this.#edited(1, () => this.#cursor = 0);
      case 0x05: // Ctrl-E
        return this.#edited(1, () => this.#cursor = this.#chars.length);
      case 0x02: // Ctrl-B
        return this.#edited(1, () => this.#move(-1));
      case 0x06: // Ctrl-F
        return this.#edited(1, () => this.#move(1));
      case 0x15: // Ctrl-U
        return this.#edited(1, () => {
          this.#chars.splice(0, this.#cursor);
          this.#cursor = 0;
        });
      case 0x0b: // Ctrl-K
        return this.#edited(1, () => this.#chars.splice(this.#cursor));
      case 0x17: // Ctrl-W
        return this.#edited(1, () => this.#deleteWord());
      case 0x10: // Ctrl-P
        return this.#edited(1, () => this.#walkHistory(-1));
      case 0x0e: // Ctrl-N
        return this.#edited(1, () => this.#walkHistory(1));
    }
    const full = String.fromCodePoint(code);
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) {
      return { consumed: full.length, result: null }; // other controls: ignored
    }
    return this.#edited(full.length, () => {
      this.#chars.splice(this.#cursor, 0, full);
      this.#cursor++;
    });
  }

  /** Parses an escape sequence (CSI `ESC [ … final` or SS3 `ESC O x`). */
  #escape(text: string): { consumed: number; result: EditResult | null } {
    if (text.length < 2) return { consumed: 0, result: null };
    const kind = text[1];
    if (kind === "O") {
      if (text.length < 3) return { consumed: 0, result: null };
      return this.#named(3, text[2]!, "");
    }
    if (kind !== "[") return { consumed: 2, result: null }; // Alt-key: ignored
    let i = 2;
    while (i < text.length && /[0-9;]/.test(text[i]!)) i++;
    if (i >= text.length) {
      return i > 16
        ? { consumed: i, result: null }
        : { consumed: 0, result: null };
    }
    return this.#named(i + 1, text[i]!, text.slice(2, i));
  }

  #named(
    consumed: number,
    final: string,
    params: string,
  ): { consumed: number; result: EditResult | null } {
    const key = final === "~" ? `${params.split(";")[0]}~` : final;
    switch (key) {
      case "D":
        return this.#edited(consumed, () => this.#move(-1));
      case "C":
        return this.#edited(consumed, () => this.#move(1));
      case "A":
        return this.#edited(consumed, () => this.#walkHistory(-1));
      case "B":
        return this.#edited(consumed, () => this.#walkHistory(1));
      case "H":
      case "1~":
      case "7~":
        return this.#edited(consumed, () => this.#cursor = 0);
      case "F":
      case "4~":
      case "8~":
        return this.#edited(consumed, () => this.#cursor = this.#chars.length);
      case "3~":
        return this.#edited(consumed, () => this.#deleteAt(this.#cursor));
      default:
        return { consumed, result: null };
    }
  }

  #edited(
    consumed: number,
    change: () => unknown,
  ): { consumed: number; result: EditResult } {
    change();
    return { consumed, result: { kind: "edit" } };
  }

  #move(by: number): void {
    this.#cursor = Math.max(0, Math.min(this.#chars.length, this.#cursor + by));
  }

  #deleteAt(index: number): void {
    if (index >= 0 && index < this.#chars.length) this.#chars.splice(index, 1);
  }

  #deleteWord(): void {
    let start = this.#cursor;
    while (start > 0 && this.#chars[start - 1] === " ") start--;
    while (start > 0 && this.#chars[start - 1] !== " ") start--;
    this.#chars.splice(start, this.#cursor - start);
    this.#cursor = start;
  }

  #walkHistory(by: number): void {
    const entries = this.#history.entries;
    const next = Math.max(0, Math.min(entries.length, this.#browse + by));
    if (next === this.#browse) return;
    if (this.#browse === entries.length) this.#draft = this.#chars;
    this.#browse = next;
    this.#chars = next === entries.length
      ? this.#draft
      : Array.from(entries[next]!);
    this.#cursor = this.#chars.length;
  }
}

/** Characters a terminal must not interpret, shown as `?` while editing. */
function safeChar(ch: string): string {
  return /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(ch) ? "?" : ch;
}
