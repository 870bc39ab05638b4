/**
 * Internationalised email addresses (RFC 6531): "anné@…" may be typed with é as one code point
 * (NFC, most keyboards) or as e + a combining accent (NFD, macOS file names, some phones and
 * password managers). Both must reach one and the same account, whatever the case.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Client, DATA_STORES, type DataStore, postgresForData, startTestApp } from "../test/harness.ts";

const apps: Awaited<ReturnType<typeof startTestApp>>[] = [];
after(async () => {
  for (const app of apps) await app.close();
});
const postgres = postgresForData();
async function shop(data: DataStore) {
  const app = await startTestApp(await postgres.env(data));
  apps.push(app);
  return app;
}

const PASSWORD = "correct horse battery";
const NFC = "anné@example.com".normalize("NFC");
const NFD = "anné@example.com".normalize("NFD");

async function registerAs(c: Client, email: string) {
  await c.get("/register");
  return c.post("/register", { email, password: PASSWORD });
}
async function signInAs(c: Client, email: string) {
  await c.get("/login");
  return c.post("/login", { email, password: PASSWORD });
}

for (const data of DATA_STORES) {
  describe(`an accented email address (data on ${data})`, () => {
    it("registers in its NFC form, and the NFD form and other case sign in to the same account", async () => {
      const app = await shop(data);
      assert.notEqual(NFC, NFD, "two different strings for one address");
      const first = app.client();
      const res = await registerAs(first, NFC);
      assert.equal(res.status, 303, res.text.slice(0, 500));
      for (const typed of [NFD, NFC.toUpperCase(), NFD.toUpperCase(), `  ${NFC}  `]) {
        const again = app.client();
        const signIn = await signInAs(again, typed);
        assert.equal(signIn.status, 303, `"${typed}" signs in`);
        assert.match((await again.get("/")).text, /Sign out/);
      }
      const accounts = await app.sql.all<{ email: string }>("SELECT email FROM users WHERE email LIKE 'ann%'");
      assert.deepEqual(
        accounts.map((a) => a.email),
        [NFC],
        "one account, kept in NFC and lower case",
      );
    });

    it("registered in its NFD form, is the same person as the NFC form: a second registration is refused", async () => {
      const app = await shop(data);
      assert.equal((await registerAs(app.client(), NFD)).status, 303);
      for (const typed of [NFC, NFC.toUpperCase()]) {
        const dup = await registerAs(app.client(), typed);
        assert.equal(dup.status, 409, `"${typed}" is the same address`);
        assert.match(dup.text, /There is already an account with that email/);
      }
      assert.equal(await signInAs(app.client(), NFC).then((r) => r.status), 303);
    });

    it("an internationalised domain is one domain in its Unicode and its ASCII (punycode) form", async () => {
      const app = await shop(data);
      assert.equal((await registerAs(app.client(), "zoë@bücher.example")).status, 303);
      const dup = await registerAs(app.client(), "ZOË@xn--bcher-kva.example");
      assert.equal(dup.status, 409);
      assert.equal((await signInAs(app.client(), "zoe\u0308@BÜCHER.example")).status, 303);
    });

    it("refuses what is not an address, saying what it expects", async () => {
      const app = await shop(data);
      for (const bad of [
        "anné",
        "anné@",
        "@example.com",
        "an né@example.com",
        "anné@exa mple.com",
        "a..b@example.com",
        "anné@example",
        "<script>@example.com",
      ]) {
        const res = await registerAs(app.client(), bad);
        assert.equal(res.status, 400, bad);
        assert.match(res.text, /Enter an email address like name@example\.com/, bad);
      }
    });
  });
}
