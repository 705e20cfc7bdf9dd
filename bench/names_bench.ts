/**
 * Cost of `validateName` per call on realistic names:
 * `deno bench bench/names_bench.ts`.
 *
 * @module
 */

import { validateName } from "../protocol/names.ts";

const ASCII = [
  "photos/2024/IMG_1234.jpg",
  "a.txt",
  "src/client/engine/tree_put.ts",
  "projects/fts/docs/reports/2024/q3/final version (2).pdf",
  Array.from({ length: 12 }, (_, i) => `level${i}`).join("/") + "/file.bin",
];
const UNICODE = [
  "Relatório 2024.pdf",
  "фото/2024/Отпуск на море.jpg",
  "日本語のフォルダ/ファイル.txt",
  "🎉/party 🎂.png",
];
const NFD = ["Cafe\u0301/re\u0301sume\u0301.txt"];

function run(names: string[]): void {
  for (const name of names) validateName(name);
}

Deno.bench("validateName, ASCII names (per 5 names)", () => run(ASCII));
Deno.bench("validateName, Unicode NFC names (per 4 names)", () => run(UNICODE));
Deno.bench("validateName, NFD name (per name)", () => run(NFD));
