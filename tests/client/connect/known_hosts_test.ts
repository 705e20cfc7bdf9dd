import assert from "node:assert/strict";
import { join } from "node:path";
import { hostKey, KnownHosts } from "../../../client/connect/known_hosts.ts";

const FP_A = "SHA256:u6tlZUS/baH9Lr56Zs+gR7BuYQMEZxyDtvFxW68qeeA";
const FP_B = "SHA256:Xq1S0V3GtVJ6u+uU2PpGh6mS1Yx9rGm1Wl2bU8f2yXs";

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fts_known_hosts_" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hostKey() lowercases names and brackets IPv6 in short form", () => {
  assert.equal(hostKey("Files.Example.ORG", 12345), "files.example.org:12345");
  assert.equal(hostKey("files.example.org.", 22), "files.example.org:22");
  assert.equal(hostKey("127.0.0.1", 1), "127.0.0.1:1");
  assert.equal(hostKey("::1", 2000), "[::1]:2000");
  assert.equal(hostKey("[::1]", 2000), "[::1]:2000");
  assert.equal(hostKey("0:0:0:0:0:0:0:1", 2000), "[::1]:2000");
  assert.equal(hostKey("2001:DB8::A", 65535), "[2001:db8::a]:65535");
  assert.equal(hostKey("bücher.de", 80), "xn--bcher-kva.de:80");
});

Deno.test("hostKey() keeps an IPv6 zone id and refuses what is no address", () => {
  assert.equal(hostKey("fe80::1%lo", 1), "[fe80::1%lo]:1");
  assert.equal(hostKey("[FE80:0::1%lo]", 2), "[fe80::1%lo]:2");
  for (const bad of ["::1:41877", "1::2::3", "fe80::1%"]) {
    assert.throws(() => hostKey(bad, 1), TypeError, bad);
  }
});

Deno.test("hostKey() refuses bad hosts and ports", () => {
  assert.throws(() => hostKey("", 1), TypeError);
  assert.throws(() => hostKey("a b", 1), TypeError);
  assert.throws(() => hostKey("a/b", 1), TypeError);
  assert.throws(() => hostKey("::zz", 1), TypeError);
  assert.throws(() => hostKey("host", 0), RangeError);
  assert.throws(() => hostKey("host", 65536), RangeError);
  assert.throws(() => hostKey("host", 1.5), RangeError);
});

Deno.test("KnownHosts.verify() tells match, unknown and mismatch", async () => {
  await withDir(async (dir) => {
    const known = new KnownHosts(join(dir, "known_hosts"));
    const key = hostKey("127.0.0.1", 12345);
    assert.equal(await known.lookup(key), null);
    assert.equal(await known.verify(key, FP_A), "unknown");
    await known.add(key, FP_A);
    assert.equal(await known.lookup(key), FP_A);
    assert.equal(await known.verify(key, FP_A), "match");
    assert.equal(await known.verify(key, FP_A.slice(7) + "="), "match");
    assert.deepEqual(await known.verify(key, FP_B), { mismatch: FP_A });
    assert.equal(
      await known.verify(hostKey("127.0.0.1", 12346), FP_A),
      "unknown",
    );
  });
});

Deno.test("KnownHosts.add() writes one line per server, mode 0600, in a new 0700 folder", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "config", "fts", "known_hosts");
    const known = new KnownHosts(file);
    await known.add(hostKey("Example.org", 2000), FP_A);
    await known.add(hostKey("::1", 12345), FP_B);
    await known.add(hostKey("example.org", 2000), FP_A); // already there: no-op
    const text = await Deno.readTextFile(file);
    assert.equal(
      text,
      "# fts known hosts: HOST:PORT SHA256:FINGERPRINT\n" +
        `example.org:2000 ${FP_A}\n` +
        `[::1]:12345 ${FP_B}\n`,
    );
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.equal(
      Deno.statSync(join(dir, "config", "fts")).mode! & 0o777,
      0o700,
    );
    const names = [...Deno.readDirSync(join(dir, "config", "fts"))].map((e) =>
      e.name
    );
    assert.deepEqual(names, ["known_hosts"]); // no temporary file left
  });
});

Deno.test("KnownHosts.add() keeps a different stored identity unless told to replace it", async () => {
  await withDir(async (dir) => {
    const known = new KnownHosts(join(dir, "known_hosts"));
    const key = hostKey("10.1.2.3", 12345);
    await known.add(key, FP_A);
    await assert.rejects(
      known.add(key, FP_B),
      /Cannot store the identity of "10\.1\.2\.3:12345": ".*known_hosts" already holds another one/,
    );
    assert.equal(await known.lookup(key), FP_A);
    await known.add(key, FP_B, { replace: true });
    assert.equal(await known.lookup(key), FP_B);
    assert.equal(await known.verify(key, FP_A).then((v) => typeof v), "object");
  });
});

Deno.test("KnownHosts keeps a certificate beside the pin and gives it back", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "known_hosts");
    const known = new KnownHosts(file);
    const key = hostKey("127.0.0.1", 12345);
    const cert = Uint8Array.of(0x30, 0x82, 1, 2, 3);
    await known.add(key, FP_A);
    assert.deepEqual(await known.entry(key), {
      fingerprint: FP_A,
      certificate: null,
    });
    // The same pin gains its certificate; the line is rewritten once.
    await known.add(key, FP_A, { certificate: cert });
    await known.add(key, FP_A, { certificate: cert });
    assert.deepEqual(await known.entry(key), {
      fingerprint: FP_A,
      certificate: cert,
    });
    assert.equal(
      await Deno.readTextFile(file),
      "# fts known hosts: HOST:PORT SHA256:FINGERPRINT\n" +
        `127.0.0.1:12345 ${FP_A} MIIBAgM=\n`,
    );
    // A certificate does not let another pin in.
    await assert.rejects(
      known.add(key, FP_B, { certificate: cert }),
      /already holds another one/,
    );
    assert.equal(await known.verify(key, FP_A), "match");
    assert.deepEqual(await known.list(), [{ key, fingerprint: FP_A }]);
    // A field that is not base64 is no certificate, and the pin still holds.
    await Deno.writeTextFile(file, `127.0.0.1:12345 ${FP_A} not*base64\n`);
    assert.deepEqual(await known.entry(key), {
      fingerprint: FP_A,
      certificate: null,
    });
  });
});

Deno.test("KnownHosts reads hand-written lines and keeps comments and junk", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "known_hosts");
    await Deno.writeTextFile(
      file,
      "# my servers\n" +
        `  LocalHost:22   ${FP_A.slice(7)}=  trailing words\n` +
        "\n" +
        "not a line at all\n" +
        `[0:0::1]:2000 ${FP_B}\n` +
        `broken:99999 ${FP_A}\n`,
    );
    const known = new KnownHosts(file);
    assert.equal(await known.lookup(hostKey("localhost", 22)), FP_A);
    assert.equal(await known.lookup(hostKey("::1", 2000)), FP_B);
    assert.equal(await known.remove(hostKey("::1", 2000)), true);
    assert.equal(await known.remove(hostKey("::1", 2000)), false);
    await known.add(hostKey("127.0.0.1", 1), FP_B);
    assert.equal(
      await Deno.readTextFile(file),
      "# my servers\n" +
        `  LocalHost:22   ${FP_A.slice(7)}=  trailing words\n` +
        "\n" +
        "not a line at all\n" +
        `broken:99999 ${FP_A}\n` +
        `127.0.0.1:1 ${FP_B}\n`,
    );
  });
});
