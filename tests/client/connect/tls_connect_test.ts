import assert from "node:assert/strict";
import { join } from "node:path";
import { hostKey, KnownHosts } from "../../../client/connect/known_hosts.ts";
import {
  connectPinned,
  connectSecure,
  connectVerified,
  decideTrust,
  ServerIdentityError,
  type TrustOptions,
} from "../../../client/connect/tls_connect.ts";
import { describeCertificate } from "../../../client/connect/certificate.ts";
import {
  probeCertificate,
  type ProbeResult,
} from "../../../client/connect/tls_probe.ts";
import { FtsError } from "../../../protocol/errors.ts";
import {
  loadCustomIdentity,
  loadOrCreateIdentity,
  type TlsIdentity,
} from "../../../server/tls/tls_identity.ts";
import { createTestCa } from "../../_helpers/tls/ca.ts";
import {
  startPlainHangUp,
  startSilentServer,
  startTlsEcho,
} from "../../_helpers/tls/servers.ts";

const HOST = "127.0.0.1";

/** Two generated fts identities, made by the first test that asks. */
let made: Promise<readonly [TlsIdentity, TlsIdentity]> | null = null;
function identities(): Promise<readonly [TlsIdentity, TlsIdentity]> {
  made ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "fts_tls_connect_" });
    try {
      return [
        await loadOrCreateIdentity(join(dir, "a")),
        await loadOrCreateIdentity(join(dir, "b")),
      ] as const;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return made;
}

async function echoOnce(conn: Deno.Conn, text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const back = new Uint8Array(bytes.byteLength);
  const reading = (async () => {
    let got = 0;
    while (got < back.byteLength) {
      const n = await conn.read(back.subarray(got));
      if (n === null) throw new Error("closed early");
      got += n;
    }
  })();
  let sent = 0;
  while (sent < bytes.byteLength) {
    sent += await conn.write(bytes.subarray(sent));
  }
  await reading;
  return new TextDecoder().decode(back);
}

function isIdentityError(reason: string) {
  return (error: unknown) => {
    assert.ok(error instanceof ServerIdentityError, String(error));
    assert.equal(error.reason, reason);
    assert.equal(error.code, "auth_failed");
    return true;
  };
}

Deno.test("connectPinned() round-trips bytes with the server's generated identity", async () => {
  const [a] = await identities();
  await using server = startTlsEcho(a);
  using conn = await connectPinned(HOST, server.port, {
    pinnedCertPem: a.certPem,
    hostname: a.hostname!,
  });
  assert.equal(await echoOnce(conn, "hello over TLS"), "hello over TLS");
  const big = "x".repeat(200_000); // several TLS records each way
  assert.equal(await echoOnce(conn, big), big);
  assert.deepEqual(server.handshakes, ["fts/1"]);
});

Deno.test("connectPinned() refuses another fts identity", async () => {
  const [a, b] = await identities();
  await using server = startTlsEcho(b);
  await assert.rejects(
    connectPinned(HOST, server.port, { pinnedCertPem: a.certPem }),
    isIdentityError("untrusted"),
  );
});

Deno.test("connectPinned() refuses a certificate from a CA the client trusts", async () => {
  const [a] = await identities();
  const ca = await createTestCa();
  await using server = startTlsEcho(
    await ca.issue({ dns: ["localhost"], ip: [HOST] }),
  );
  // Control: caCerts adds to the roots, so a client trusting the pin and
  // the CA (the same PEM text as below) accepts the CA's certificate when
  // it asks for the dialled name.
  {
    using conn = await connectVerified(HOST, server.port, {
      caCerts: [a.certPem + ca.certPem],
    });
    assert.equal(await echoOnce(conn, "ok"), "ok");
  }
  // Pinned, it asks for the pin's own .invalid name: refused, even though
  // the CA is trusted too.
  await assert.rejects(
    connectPinned(HOST, server.port, {
      pinnedCertPem: a.certPem + ca.certPem,
    }),
    isIdentityError("untrusted"),
  );
  await assert.rejects(
    connectPinned(HOST, server.port, { pinnedCertPem: a.certPem }),
    isIdentityError("untrusted"),
  );
});

Deno.test("connectPinned() refuses a pin that is not an fts identity or a wrong name", async () => {
  const [a] = await identities();
  const ca = await createTestCa();
  const leaf = await ca.issue({ dns: ["localhost"] });
  await assert.rejects(
    connectPinned(HOST, 1, { pinnedCertPem: leaf.certPem }),
    TypeError,
  );
  await assert.rejects(
    connectPinned(HOST, 1, { pinnedCertPem: a.certPem, hostname: "localhost" }),
    TypeError,
  );
  await assert.rejects(
    connectPinned(HOST, 1, { pinnedCertPem: "not a pem" }),
    TypeError,
  );
});

Deno.test("connectPinned() times out against a server that never answers", async () => {
  const [a] = await identities();
  await using server = startSilentServer();
  await assert.rejects(
    connectPinned(HOST, server.port, {
      pinnedCertPem: a.certPem,
      timeoutMs: 150,
    }),
    (error: unknown) => {
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "timeout");
      assert.match(error.message, /no TLS handshake within 150 ms/);
      return true;
    },
  );
});

Deno.test("connectPinned() stops when its signal aborts", async () => {
  const [a] = await identities();
  await using server = startSilentServer();
  const controller = new AbortController();
  const attempt = connectPinned(HOST, server.port, {
    pinnedCertPem: a.certPem,
    signal: controller.signal,
  });
  controller.abort(new Error("user pressed ^C"));
  await assert.rejects(attempt, /user pressed \^C/);
});

Deno.test("connectVerified() accepts a CA-issued certificate for the dialled name only", async () => {
  const ca = await createTestCa();
  const leaf = await ca.issue({ ip: [HOST] });
  await using server = startTlsEcho(leaf);
  {
    using conn = await connectVerified(HOST, server.port, {
      caCerts: [ca.certPem],
    });
    assert.equal(await echoOnce(conn, "verified"), "verified");
  }
  await assert.rejects(
    connectVerified(HOST, server.port), // the test CA is not a public root
    isIdentityError("untrusted"),
  );
  const other = await ca.issue({ dns: ["files.example.org"] });
  await using wrongName = startTlsEcho(other);
  await assert.rejects(
    connectVerified(HOST, wrongName.port, { caCerts: [ca.certPem] }),
    isIdentityError("untrusted"),
  );
});

Deno.test("probeCertificate() returns the fingerprint the server prints", async () => {
  const [a] = await identities();
  await using server = startTlsEcho(a);
  const seen = await probeCertificate(HOST, server.port);
  assert.equal(seen.fingerprint, a.fingerprint);
  assert.equal(seen.pinnedHostname, a.hostname);
  assert.equal(
    describeCertificate(pemDer(seen.certPem)).fingerprint,
    a.fingerprint,
  );
  assert.deepEqual(pemDer(seen.certPem), pemDer(a.certPem));
  assert.deepEqual(server.failures, []); // the probe closed cleanly
});

Deno.test("probeCertificate() sees a custom certificate as not pinnable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fts_tls_probe_" });
  try {
    const ca = await createTestCa();
    const leaf = await ca.issue({ dns: ["files.example.org"] });
    await Deno.writeTextFile(join(dir, "cert.pem"), leaf.certPem);
    await Deno.writeTextFile(join(dir, "key.pem"), leaf.keyPem);
    const custom = await loadCustomIdentity(
      join(dir, "cert.pem"),
      join(dir, "key.pem"),
    );
    await using server = startTlsEcho(custom);
    const seen = await probeCertificate(HOST, server.port);
    assert.equal(seen.fingerprint, custom.fingerprint);
    assert.equal(seen.pinnedHostname, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probeCertificate() fails clearly on plain TCP, closed ports and silence", async () => {
  {
    await using plain = startPlainHangUp();
    await assert.rejects(probeCertificate(HOST, plain.port), (error) => {
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "protocol");
      assert.match(error.message, /ended the connection during the handshake/);
      return true;
    });
  }
  {
    // A plain server that answers with a frame before hanging up.
    const frame = new Uint8Array(16).fill(0);
    frame.set([0x46, 0x54, 1, 0x7f]);
    await using plain = startPlainHangUp(frame);
    const [a] = await identities();
    for (
      const attempt of [
        () => probeCertificate(HOST, plain.port),
        () => connectPinned(HOST, plain.port, { pinnedCertPem: a.certPem }),
      ]
    ) {
      await assert.rejects(attempt(), (error) => {
        assert.ok(error instanceof FtsError);
        assert.equal(error.code, "protocol");
        assert.match(error.message, /the server does not speak TLS/);
        return true;
      });
    }
  }
  const closedPort = (() => {
    using listener = Deno.listen({ hostname: HOST, port: 0 });
    return listener.addr.port;
  })();
  await assert.rejects(probeCertificate(HOST, closedPort), (error) => {
    assert.ok(error instanceof FtsError);
    assert.equal(error.code, "io");
    assert.match(
      error.message,
      new RegExp(`Cannot connect to "${HOST}:${closedPort}"`),
    );
    return true;
  });
  await using silent = startSilentServer();
  await assert.rejects(
    probeCertificate(HOST, silent.port, { timeoutMs: 150 }),
    (error) => {
      assert.ok(error instanceof FtsError);
      assert.equal(error.code, "timeout");
      return true;
    },
  );
});

// ---- decideTrust: every branch, no sockets ----

function probeOf(identity: TlsIdentity): ProbeResult {
  return {
    certPem: identity.certPem,
    fingerprint: identity.fingerprint,
    pinnedHostname: identity.hostname,
  };
}

function asker(answer: boolean) {
  const questions: string[] = [];
  return {
    questions,
    ask: (question: string) => {
      questions.push(question);
      return Promise.resolve(answer);
    },
  };
}

const ADDRESS = "127.0.0.1:12345";

Deno.test("decideTrust() asks on a terminal and remembers a yes", async () => {
  const [a] = await identities();
  const person = asker(true);
  const decision = await decideTrust(
    { address: ADDRESS, verdict: "unknown", probe: probeOf(a) },
    { interactive: true, ask: person.ask },
  );
  assert.deepEqual(decision, {
    action: "connect",
    pinned: true,
    remember: true,
  });
  assert.equal(person.questions.length, 1);
  assert.match(
    person.questions[0]!,
    new RegExp(`"${ADDRESS}" is not known yet`),
  );
  assert.ok(person.questions[0]!.includes(a.fingerprint));
});

Deno.test("decideTrust() refuses when the person says no", async () => {
  const [a] = await identities();
  const decision = await decideTrust(
    { address: ADDRESS, verdict: "unknown", probe: probeOf(a) },
    { interactive: true, ask: asker(false).ask },
  );
  assert.equal(decision.action, "refuse");
  assert.equal(decision.action === "refuse" && decision.reason, "declined");
});

Deno.test("decideTrust() refuses an unknown server without a terminal", async () => {
  const [a] = await identities();
  const person = asker(true);
  const decision = await decideTrust(
    { address: ADDRESS, verdict: "unknown", probe: probeOf(a) },
    { interactive: false, ask: person.ask },
  );
  assert.deepEqual(decision, {
    action: "refuse",
    reason: "unknown",
    message:
      `Cannot connect to "${ADDRESS}": its identity ${a.fingerprint} is not known and there is no terminal to ask`,
  });
  assert.equal(person.questions.length, 0);
});

Deno.test("decideTrust() connects with the right --fingerprint or --accept-new without asking", async () => {
  const [a] = await identities();
  for (const interactive of [false, true]) {
    const person = asker(false);
    const options: TrustOptions[] = [
      { interactive, ask: person.ask, fingerprint: a.fingerprint },
      { interactive, ask: person.ask, fingerprint: hexOf(a.fingerprint) },
      { interactive, ask: person.ask, acceptNew: true },
    ];
    for (const option of options) {
      const decision = await decideTrust(
        { address: ADDRESS, verdict: "unknown", probe: probeOf(a) },
        option,
      );
      assert.deepEqual(decision, {
        action: "connect",
        pinned: true,
        remember: true,
      });
    }
    assert.equal(person.questions.length, 0);
  }
});

Deno.test("decideTrust() refuses a wrong --fingerprint, naming both", async () => {
  const [a, b] = await identities();
  for (const verdict of ["unknown", "match"] as const) {
    const decision = await decideTrust(
      { address: ADDRESS, verdict, probe: probeOf(a) },
      {
        interactive: true,
        ask: asker(true).ask,
        fingerprint: b.fingerprint,
        acceptNew: true,
      },
    );
    assert.deepEqual(decision, {
      action: "refuse",
      reason: "wrong_fingerprint",
      message:
        `Cannot connect to "${ADDRESS}": it offered ${a.fingerprint}, not the expected ${b.fingerprint}`,
    });
  }
});

Deno.test("decideTrust() refuses a changed identity whatever the options say", async () => {
  const [a, b] = await identities();
  const all: TrustOptions[] = [
    { interactive: false },
    { interactive: true, ask: asker(true).ask },
    { interactive: false, acceptNew: true },
    { interactive: false, fingerprint: b.fingerprint },
  ];
  for (const options of all) {
    const decision = await decideTrust(
      {
        address: ADDRESS,
        verdict: { mismatch: a.fingerprint },
        probe: probeOf(b),
      },
      options,
    );
    assert.deepEqual(decision, {
      action: "refuse",
      reason: "mismatch",
      message:
        `WARNING: server identity for ${ADDRESS} changed! stored ${a.fingerprint} offered ${b.fingerprint} — refusing to connect`,
    });
  }
});

Deno.test("decideTrust() connects a known server without asking", async () => {
  const [a] = await identities();
  const person = asker(false);
  const decision = await decideTrust(
    { address: ADDRESS, verdict: "match", probe: probeOf(a) },
    { interactive: true, ask: person.ask },
  );
  assert.deepEqual(decision, {
    action: "connect",
    pinned: true,
    remember: false,
  });
  assert.equal(person.questions.length, 0);
});

Deno.test("decideTrust() leaves a real certificate to the system roots and does not pin it", async () => {
  const [a] = await identities();
  const real: ProbeResult = { ...probeOf(a), pinnedHostname: null };
  const decision = await decideTrust(
    { address: ADDRESS, verdict: "unknown", probe: real },
    { interactive: false },
  );
  assert.deepEqual(decision, {
    action: "connect",
    pinned: false,
    remember: false,
  });
});

Deno.test("decideTrust() refuses a --fingerprint that is not one", async () => {
  const [a] = await identities();
  await assert.rejects(
    decideTrust(
      { address: ADDRESS, verdict: "unknown", probe: probeOf(a) },
      { interactive: false, fingerprint: "SHA256:nonsense" },
    ),
    SyntaxError,
  );
});

Deno.test("decideTrust() needs ask() to be interactive", async () => {
  const [a] = await identities();
  await assert.rejects(
    decideTrust(
      { address: ADDRESS, verdict: "unknown", probe: probeOf(a) },
      { interactive: true },
    ),
    TypeError,
  );
});

// ---- connectSecure: the whole flow against real servers ----

Deno.test("connectSecure() pins on first contact, then trusts, then refuses a changed key", async () => {
  const [a, b] = await identities();
  const dir = await Deno.makeTempDir({ prefix: "fts_known_" });
  try {
    const knownHosts = new KnownHosts(join(dir, "known_hosts"));
    await using server = startTlsEcho(a);
    const key = hostKey(HOST, server.port);

    // No terminal, no flag: refused, nothing stored.
    await assert.rejects(
      connectSecure(HOST, server.port, { knownHosts, interactive: false }),
      isIdentityError("unknown"),
    );
    assert.equal(await knownHosts.lookup(key), null);

    // Wrong --fingerprint: refused, nothing stored.
    await assert.rejects(
      connectSecure(HOST, server.port, {
        knownHosts,
        interactive: false,
        fingerprint: b.fingerprint,
      }),
      isIdentityError("wrong_fingerprint"),
    );
    assert.equal(await knownHosts.lookup(key), null);

    // A terminal and a yes: connected and remembered.
    const person = asker(true);
    {
      const first = await connectSecure(HOST, server.port, {
        knownHosts,
        interactive: true,
        ask: person.ask,
      });
      using conn = first.conn;
      assert.equal(first.pinned, true);
      assert.equal(first.remembered, true);
      assert.equal(first.fingerprint, a.fingerprint);
      assert.equal(await echoOnce(conn, "first"), "first");
    }
    assert.equal(person.questions.length, 1);
    assert.equal(await knownHosts.lookup(key), a.fingerprint);

    // Known now: no question, even without a terminal.
    {
      const again = await connectSecure(HOST, server.port, {
        knownHosts,
        interactive: false,
      });
      using conn = again.conn;
      assert.equal(again.remembered, false);
      assert.equal(await echoOnce(conn, "again"), "again");
    }

    // The key behind a known host:port changed (simulated by pinning
    // identity a for the address of a server holding identity b): hard
    // refusal naming both, even with --accept-new and a terminal.
    await using impostor = startTlsEcho(b);
    const impostorKey = hostKey(HOST, impostor.port);
    await knownHosts.add(impostorKey, a.fingerprint);
    await assert.rejects(
      connectSecure(HOST, impostor.port, {
        knownHosts,
        interactive: true,
        ask: person.ask,
        acceptNew: true,
      }),
      (error: unknown) => {
        isIdentityError("mismatch")(error);
        assert.equal(
          (error as Error).message,
          `WARNING: server identity for ${impostorKey} changed! stored ${a.fingerprint} offered ${b.fingerprint} — refusing to connect`,
        );
        return true;
      },
    );
    assert.equal(person.questions.length, 1, "never asked about a mismatch");
    assert.equal(await knownHosts.lookup(impostorKey), a.fingerprint);
    assert.equal(
      impostor.handshakes.length,
      1,
      "the probe, no data connection",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectSecure() with --accept-new or the right --fingerprint remembers the pin", async () => {
  const [a, b] = await identities();
  const dir = await Deno.makeTempDir({ prefix: "fts_known_" });
  try {
    const knownHosts = new KnownHosts(join(dir, "known_hosts"));
    await using serverA = startTlsEcho(a);
    await using serverB = startTlsEcho(b);
    for (
      const [server, options] of [
        [serverA, { acceptNew: true }],
        [serverB, { fingerprint: b.fingerprint }],
      ] as const
    ) {
      const made = await connectSecure(HOST, server.port, {
        knownHosts,
        interactive: false,
        ...options,
      });
      using conn = made.conn;
      assert.equal(made.remembered, true);
      assert.equal(await echoOnce(conn, "pinned"), "pinned");
    }
    assert.equal(
      await knownHosts.lookup(hostKey(HOST, serverA.port)),
      a.fingerprint,
    );
    assert.equal(
      await knownHosts.lookup(hostKey(HOST, serverB.port)),
      b.fingerprint,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectSecure() verifies a real certificate against the roots and stores nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fts_known_" });
  try {
    const knownHosts = new KnownHosts(join(dir, "known_hosts"));
    const ca = await createTestCa();
    await using server = startTlsEcho(await ca.issue({ ip: [HOST] }));
    await assert.rejects(
      connectSecure(HOST, server.port, { knownHosts, interactive: false }),
      isIdentityError("untrusted"),
    );
    const made = await connectSecure(HOST, server.port, {
      knownHosts,
      interactive: false,
      caCerts: [ca.certPem],
    });
    using conn = made.conn;
    assert.equal(made.pinned, false);
    assert.equal(made.remembered, false);
    assert.equal(await echoOnce(conn, "real"), "real");
    assert.equal(await knownHosts.lookup(hostKey(HOST, server.port)), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectSecure() reaches a server it knows in one connection, without the probe", async () => {
  const [a] = await identities();
  const dir = await Deno.makeTempDir({ prefix: "fts_known_" });
  try {
    const knownHosts = new KnownHosts(join(dir, "known_hosts"));
    await using server = startTlsEcho(a);
    // First contact: the probe, then the real connection.
    {
      const first = await connectSecure(HOST, server.port, {
        knownHosts,
        interactive: false,
        acceptNew: true,
      });
      using conn = first.conn;
      assert.equal(await echoOnce(conn, "first"), "first");
    }
    assert.equal(server.handshakes.length, 2);
    // Known now: one handshake per connection.
    for (const round of ["second", "third"]) {
      const again = await connectSecure(HOST, server.port, {
        knownHosts,
        interactive: false,
      });
      using conn = again.conn;
      assert.equal(again.pinned, true);
      assert.equal(again.remembered, false);
      assert.equal(again.fingerprint, a.fingerprint);
      assert.equal(await echoOnce(conn, round), round);
    }
    assert.equal(server.handshakes.length, 4, "one connection each, no probe");
    assert.deepEqual(server.failures, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectSecure() with a stored certificate still refuses a wrong --fingerprint and a changed key", async () => {
  const [a, b] = await identities();
  const dir = await Deno.makeTempDir({ prefix: "fts_known_" });
  try {
    const knownHosts = new KnownHosts(join(dir, "known_hosts"));
    await using server = startTlsEcho(b);
    const key = hostKey(HOST, server.port);
    // Identity a, with its certificate, stored for a server that holds b.
    await knownHosts.add(key, a.fingerprint, {
      certificate: pemDer(a.certPem),
    });
    // A --fingerprint other than the stored one: the probe decides, and
    // the changed key is what is reported.
    const changed = (error: unknown) => {
      isIdentityError("mismatch")(error);
      assert.equal(
        (error as Error).message,
        `WARNING: server identity for ${key} changed! stored ${a.fingerprint} offered ${b.fingerprint} — refusing to connect`,
      );
      return true;
    };
    await assert.rejects(
      connectSecure(HOST, server.port, {
        knownHosts,
        interactive: false,
        fingerprint: b.fingerprint,
      }),
      changed,
    );
    assert.equal(server.handshakes.length, 1, "the probe only");
    await assert.rejects(
      connectSecure(HOST, server.port, {
        knownHosts,
        interactive: true,
        ask: () => Promise.resolve(true),
        acceptNew: true,
      }),
      changed,
    );
    // The pinned attempt failed on the server's side, then the probe saw b.
    assert.equal(server.failures.length, 1);
    assert.equal(server.handshakes.length, 2);
    assert.equal(await knownHosts.lookup(key), a.fingerprint);
    // A known server and a wrong --fingerprint: refused by the probe's
    // finding, as without the certificate.
    await using same = startTlsEcho(a);
    await knownHosts.add(hostKey(HOST, same.port), a.fingerprint, {
      certificate: pemDer(a.certPem),
    });
    await assert.rejects(
      connectSecure(HOST, same.port, {
        knownHosts,
        interactive: false,
        fingerprint: b.fingerprint,
      }),
      isIdentityError("wrong_fingerprint"),
    );
    assert.equal(same.handshakes.length, 1, "the probe only");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectSecure() never trusts a stored certificate that is not the pinned key's", async () => {
  const [a, b] = await identities();
  const dir = await Deno.makeTempDir({ prefix: "fts_known_" });
  try {
    const knownHosts = new KnownHosts(join(dir, "known_hosts"));
    await using server = startTlsEcho(b);
    const key = hostKey(HOST, server.port);
    // The fingerprint of a, beside the certificate of b (a hand-edited
    // line): the certificate is ignored, the probe finds b, and b is refused.
    await Deno.writeTextFile(
      knownHosts.file,
      `${key} ${a.fingerprint} ${
        btoa(String.fromCharCode(...pemDer(b.certPem)))
      }\n`,
    );
    await assert.rejects(
      connectSecure(HOST, server.port, { knownHosts, interactive: false }),
      isIdentityError("mismatch"),
    );
    assert.equal(server.handshakes.length, 1, "the probe only");
    assert.deepEqual(server.failures, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A fingerprint as 64 hex digits, the other form users may paste. */
function hexOf(fingerprint: string): string {
  return Array.from(
    atob(fingerprint.slice("SHA256:".length) + "="),
    (c) => c.charCodeAt(0).toString(16).padStart(2, "0"),
  ).join(":");
}

function pemDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}
