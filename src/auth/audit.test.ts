/**
 * The security events in the real server's log (LOG_LEVEL=info, JSON on stdout): an operator can
 * follow an account's sessions — sign-in and its failures, sign-out, other sessions ended, the
 * instructor's sign-in and revocations — by fingerprint and user id, and nothing in the log could
 * be used to take a session or an account over.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { hashSessionId } from "../session/id.ts";
import { addToCart, Client, register, SECRET_A, startServerProcess, tempDir } from "../test/harness.ts";

const INSTRUCTOR = "a long classroom password";

interface AuditLine {
  audit: string;
  outcome: string;
  userId?: number | null;
  session?: string;
  previousSession?: string;
  reason?: string;
  count?: number;
}

describe("security events in the log", () => {
  it("logs each sign-in, failure, sign-out and revocation as its own event, by fingerprint, with no ID, password or email", async () => {
    const dir = tempDir();
    const server = startServerProcess({ DATABASE_PATH: path.join(dir, "shop.sqlite"), SESSION_SECRETS: SECRET_A, INSTRUCTOR_PASSWORD: INSTRUCTOR });
    const ids = new Set<string>();
    const seen = (c: Client) => {
      const id = c.sessionId();
      if (id) ids.add(id);
      return id ? hashSessionId(id).slice(0, 8) : undefined;
    };
    try {
      const url = await server.listening;
      const phone = new Client(url);
      await addToCart(phone, 1, 1);
      const guest = seen(phone);
      const { email, password } = await register(phone);
      const registered = seen(phone);
      await phone.get("/"); // the signed-in page's form, with the new session's token
      assert.equal((await phone.post("/logout")).status, 303);

      const laptop = new Client(url);
      await laptop.get("/login");
      assert.equal((await laptop.post("/login", { email, password: "not the password" })).status, 401);
      assert.equal((await laptop.post("/login", { email: "nobody@example.com", password })).status, 401);
      assert.equal((await laptop.post("/login", { email, password })).status, 303);
      const laptopSession = seen(laptop);
      await phone.get("/login");
      await phone.post("/login", { email, password });
      seen(phone);

      await laptop.get("/account/sessions");
      assert.equal((await laptop.post("/account/sessions/end", { action: "all", password: "wrong" })).status, 401);
      await laptop.get("/account/sessions");
      assert.equal((await laptop.post("/account/sessions/end", { action: "all", password })).status, 303);

      const instructor = new Client(url);
      await instructor.get("/instructor/login");
      await instructor.post("/instructor/login", { password: "not it" });
      await instructor.post("/instructor/login", { password: INSTRUCTOR, next: "/instructor" });
      await instructor.get("/instructor");
      const key = hashSessionId(laptop.sessionId()!);
      assert.equal((await instructor.post(`/instructor/sessions/${key}/revoke`)).status, 303);

      server.child.kill("SIGTERM");
      await server.exited;
      const output = server.output();
      const events = output
        .split("\n")
        .filter((l) => l.includes('"audit"'))
        .map((l) => JSON.parse(l) as AuditLine);
      const find = (audit: string, outcome: string) => events.filter((e) => e.audit === audit && e.outcome === outcome);

      const [registration] = find("register", "success");
      assert.equal(registration?.session, registered);
      assert.equal(registration?.previousSession, guest, "registration names the guest session it replaced");
      assert.equal(find("sign-out", "success")[0]?.session, registered);
      assert.deepEqual(
        find("sign-in", "failure").map((e) => e.reason),
        ["wrong password", "unknown account"],
        "failures are logged with why, the same page shown for both",
      );
      const signIns = find("sign-in", "success");
      assert.equal(signIns.length, 2);
      assert.equal(signIns[0]?.session, laptopSession);
      assert.ok(signIns.every((e) => e.userId === registration?.userId && typeof e.userId === "number"));
      assert.equal(find("other-sessions-ended", "failure")[0]?.reason, "wrong password");
      assert.equal(find("other-sessions-ended", "success")[0]?.count, 1);
      assert.equal(find("instructor-sign-in", "failure").length, 1);
      assert.equal(find("instructor-sign-in", "success").length, 1);
      assert.equal(find("session-revoked-by-instructor", "success")[0]?.session, key.slice(0, 8));
      for (const e of events) if (e.session !== undefined) assert.match(e.session, /^[0-9a-f]{8}$/, "a fingerprint, not an ID");

      for (const id of ids) assert.ok(!output.includes(id), "no session ID in the log");
      for (const secret of [password, INSTRUCTOR, email, "not the password"]) assert.ok(!output.includes(secret), `"${secret}" is not in the log`);
    } finally {
      server.child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
