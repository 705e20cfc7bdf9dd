import assert from "node:assert/strict";
import { History, LineEditor } from "../../../client/term/line_editor.ts";

function type(editor: LineEditor, ...keys: string[]) {
  const all = [];
  for (const key of keys) all.push(...editor.feed(key).results);
  return all;
}

const LEFT = "\x1b[D";
const RIGHT = "\x1b[C";
const UP = "\x1b[A";
const DOWN = "\x1b[B";
const HOME = "\x1b[H";
const END = "\x1bOF";
const DEL = "\x1b[3~";

Deno.test("LineEditor inserts at the cursor and moves with arrows, Home and End", () => {
  const editor = new LineEditor(new History());
  type(editor, "get b", LEFT, "a", HOME, "x", END, "!", LEFT, LEFT, RIGHT);
  assert.equal(editor.text, "xget ab!");
  assert.equal(editor.cursor, 7);
});

Deno.test("LineEditor erases with Backspace, Delete, Ctrl-U, Ctrl-K and Ctrl-W", () => {
  const editor = new LineEditor(new History());
  type(editor, "put abc", "\x7f");
  assert.equal(editor.text, "put ab");
  type(editor, HOME, DEL);
  assert.equal(editor.text, "ut ab");
  type(editor, END, "\x17");
  assert.equal(editor.text, "ut ");
  type(editor, "xyz", LEFT, "\x0b");
  assert.equal(editor.text, "ut xy");
  type(editor, "\x15");
  assert.equal(editor.text, "");
});

Deno.test("LineEditor submits on Enter, also with CR LF, keeping the rest", () => {
  const history = new History();
  const editor = new LineEditor(history);
  const { results, rest } = editor.feed("ls\r\nget 1\r");
  assert.deepEqual(results.at(-1), { kind: "submit", line: "ls" });
  assert.equal(rest, "get 1\r");
  assert.deepEqual(history.entries, ["ls"]);
});

Deno.test("LineEditor walks the history with Up and Down and keeps the draft", () => {
  const history = new History();
  history.add("ls");
  history.add("get 1");
  history.add("get 1"); // repeated lines are kept once
  const editor = new LineEditor(history);
  type(editor, "dra", UP);
  assert.equal(editor.text, "get 1");
  type(editor, UP, UP);
  assert.equal(editor.text, "ls");
  type(editor, DOWN, DOWN);
  assert.equal(editor.text, "dra");
  assert.equal(editor.cursor, 3);
});

Deno.test("LineEditor: Ctrl-C interrupts, Ctrl-D ends input only on an empty line", () => {
  const editor = new LineEditor(new History());
  assert.deepEqual(type(editor, "abc", "\x03").at(-1), { kind: "interrupt" });
  const empty = new LineEditor(new History());
  assert.deepEqual(type(empty, "\x04").at(-1), { kind: "eof" });
  const full = new LineEditor(new History());
  type(full, "ab", HOME, "\x04");
  assert.equal(full.text, "b");
});

Deno.test("LineEditor joins an escape sequence split across reads", () => {
  const editor = new LineEditor(new History());
  type(editor, "ab", "\x1b", "[", "D", "X");
  assert.equal(editor.text, "aXb");
});

Deno.test("LineEditor keeps non-ASCII characters whole and ignores other controls", () => {
  const editor = new LineEditor(new History());
  type(editor, "Relatório 🎉", LEFT, "\x7f", "\x07\x1b[1;5C");
  assert.equal(editor.text, "Relatório🎉");
});

Deno.test("LineEditor.render() redraws the line and puts the cursor back", () => {
  const editor = new LineEditor(new History());
  type(editor, "get abc", LEFT, LEFT);
  assert.equal(editor.render("fts> ", 80), "\rfts> get abc\x1b[K\x1b[2D");
});

Deno.test("LineEditor.render() scrolls a long line to keep the cursor visible", () => {
  const editor = new LineEditor(new History());
  type(editor, "x".repeat(100) + "END");
  const drawn = editor.render("> ", 40);
  // deno-lint-ignore no-control-regex -- the test looks for raw escapes
  const visible = drawn.replace(/^\r> /, "").replace(/\x1b\[K.*$/, "");
  assert.equal(visible.length, 37);
  assert.ok(visible.endsWith("END"));
});
