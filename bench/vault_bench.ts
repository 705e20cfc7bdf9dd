/**
 * Vault throughput: the fast age payload path (node:crypto STREAM) against
 * the reference `age-encryption` library, in memory, 1 MiB input chunks.
 *
 *   deno run --allow-all bench/vault_bench.ts [--size MIB] [--lib-size MIB] [--runs N]
 *
 * Defaults: 1024 MiB for the fast path, 1024 MiB for the library
 * (`--lib-size 0` skips it), 3 runs of each; prints the best and the median
 * run. GB/s is 10^9 bytes of plaintext per second.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Decrypter, Encrypter } from "age-encryption";
import { AgeIdentity } from "../client/vault/age_keys.ts";
import { sealHeader } from "../client/vault/age_header.ts";
import { AgeDecryptor } from "../client/vault/decryptor.ts";
import { AgeEncryptor, encryptedSize } from "../client/vault/encryptor.ts";

const MIB = 1024 * 1024;

interface Result {
  name: string;
  bytes: number;
  seconds: number;
}

/** Runs `measure` `runs` times; keeps every timing. */
async function repeat(
  runs: number,
  measure: () => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = [];
  for (let i = 0; i < runs; i++) results.push(await measure());
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      size: { type: "string", default: "1024" },
      "lib-size": { type: "string", default: "1024" },
      runs: { type: "string", default: "3" },
    },
  });
  const chunks = Number(values.size);
  const libChunks = Number(values["lib-size"]);
  const runs = Number(values.runs);
  const identity = await AgeIdentity.generate();
  const plain = new Uint8Array(MIB);
  for (let at = 0; at < MIB; at += 65536) {
    crypto.getRandomValues(plain.subarray(at, at + 65536));
  }
  const results: Result[][] = [];
  results.push(await repeat(runs, () => fastEncrypt(identity, plain, chunks)));
  const cipher = await makeCiphertext(identity, plain, chunks);
  results.push(
    await repeat(runs, () => fastDecrypt(identity, cipher, chunks * MIB)),
  );
  if (libChunks > 0) {
    results.push(
      await repeat(runs, () => libraryEncrypt(identity, plain, libChunks)),
    );
    const libCipher = libChunks === chunks
      ? cipher
      : await makeCiphertext(identity, plain, libChunks);
    results.push(
      await repeat(
        runs,
        () => libraryDecrypt(identity, libCipher, libChunks * MIB),
      ),
    );
  }

  console.log(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ` +
      `${runs} runs each, GB/s = 10^9 B/s of plaintext`,
  );
  console.log(`${"".padEnd(30)}      size   best  median`);
  for (const runsOf of results) {
    const first = runsOf[0];
    if (first === undefined) continue;
    const rates = runsOf.map((r) => r.bytes / r.seconds / 1e9)
      .sort((x, y) => x - y);
    const best = rates[rates.length - 1] ?? 0;
    const median = rates[Math.floor(rates.length / 2)] ?? 0;
    const size = (first.bytes / MIB).toFixed(0).padStart(5);
    console.log(
      `${first.name.padEnd(30)} ${size} MiB  ${best.toFixed(3)}  ${
        median.toFixed(3)
      }`,
    );
  }
}

/** The upload loop's shape: reusable 1 MiB input, reusable output buffer. */
async function fastEncrypt(
  identity: AgeIdentity,
  plain: Uint8Array,
  chunks: number,
): Promise<Result> {
  const header = await sealHeader({ recipients: [identity.recipient] });
  const expected = encryptedSize(chunks * MIB, header);
  const start = performance.now();
  const encryptor = new AgeEncryptor(header);
  const out = new Uint8Array(encryptor.maxPushSize(MIB));
  let total = 0;
  for (let i = 0; i < chunks; i++) total += encryptor.pushInto(plain, out);
  total += encryptor.finishInto(out);
  const seconds = (performance.now() - start) / 1000;
  if (total !== expected) throw new Error(`Size ${total} != ${expected}`);
  return { name: "fast path encrypt (pushInto)", bytes: chunks * MIB, seconds };
}

async function makeCiphertext(
  identity: AgeIdentity,
  plain: Uint8Array,
  chunks: number,
): Promise<Uint8Array[]> {
  const encryptor = await AgeEncryptor.create({
    recipients: [identity.recipient],
  });
  const parts: Uint8Array[] = [];
  for (let i = 0; i < chunks; i++) parts.push(encryptor.push(plain));
  parts.push(encryptor.finish());
  return parts.filter((part) => part.length > 0);
}

/** The download loop's shape: ~1 MiB ciphertext pieces in, plaintext out. */
async function fastDecrypt(
  identity: AgeIdentity,
  cipher: readonly Uint8Array[],
  plainSize: number,
): Promise<Result> {
  const start = performance.now();
  const decryptor = new AgeDecryptor({ identities: [identity] });
  let total = 0;
  for (const part of cipher) total += (await decryptor.push(part)).length;
  total += decryptor.finish().length;
  const seconds = (performance.now() - start) / 1000;
  if (total !== plainSize) throw new Error(`Size ${total} != ${plainSize}`);
  return { name: "fast path decrypt (push)", bytes: plainSize, seconds };
}

async function libraryEncrypt(
  identity: AgeIdentity,
  plain: Uint8Array,
  chunks: number,
): Promise<Result> {
  const start = performance.now();
  const encrypter = new Encrypter();
  encrypter.addRecipient(identity.recipient);
  let sent = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) controller.close();
      else {
        controller.enqueue(plain.slice());
        sent++;
      }
    },
  });
  const stream = await encrypter.encrypt(source);
  let total = 0;
  for await (const part of stream) total += part.length;
  const seconds = (performance.now() - start) / 1000;
  if (total <= chunks * MIB) throw new Error(`Short output ${total}`);
  return { name: "age-encryption 0.3.1 encrypt", bytes: chunks * MIB, seconds };
}

async function libraryDecrypt(
  identity: AgeIdentity,
  cipher: readonly Uint8Array[],
  plainSize: number,
): Promise<Result> {
  const start = performance.now();
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity.exportSecret());
  let next = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = cipher[next++];
      if (part === undefined) controller.close();
      else controller.enqueue(part);
    },
  });
  const stream = await decrypter.decrypt(source);
  let total = 0;
  for await (const part of stream) total += part.length;
  const seconds = (performance.now() - start) / 1000;
  if (total !== plainSize) throw new Error(`Size ${total} != ${plainSize}`);
  return { name: "age-encryption 0.3.1 decrypt", bytes: plainSize, seconds };
}

if (import.meta.main) await main();
