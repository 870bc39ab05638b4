import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { addToCart, Client, DATA_STORES, postgresForData, register, startTestApp } from "../test/harness.ts";

const postgres = postgresForData();

// Every test twice: the shop's data in SQLite (the default) and in PostgreSQL (DATA_STORE=postgres).
for (const data of DATA_STORES)
  describe(`data on ${data}`, () => {
    let app: Awaited<ReturnType<typeof startTestApp>>;
    beforeEach(async () => {
      app = await startTestApp(await postgres.env(data));
    });
    afterEach(() => app.close());

    const UA = {
      laptop: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36",
      phone: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
      tablet: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
    };

    async function signIn(c: Client, email: string, password: string, ua: string) {
      await c.get("/login", { "user-agent": ua });
      const res = await c.post("/login", { email, password }, { "user-agent": ua });
      assert.equal(res.status, 303);
    }

    describe("your active sessions", () => {
      it("lists each browser signed in to the account, marking this one", async () => {
        const laptop = app.client();
        const { email, password } = await register(laptop);
        await laptop.post("/logout");
        await signIn(laptop, email, password, UA.laptop);
        const phone = app.client();
        await signIn(phone, email, password, UA.phone);
        const page = await laptop.get("/account/sessions");
        assert.equal(page.status, 200);
        assert.match(page.text, /Chrome on Linux <span class="tag">This browser<\/span>/);
        assert.match(page.text, /Safari on iOS<span class="visually-hidden">, last seen/);
        assert.equal((page.text.match(/<tr>/g) ?? []).length, 3, "header row + two sessions");
      });

      it("signing out another session (password confirmed) kills its cookie at once; this one stays", async () => {
        const laptop = app.client();
        const { email, password } = await register(laptop);
        const phone = app.client();
        await signIn(phone, email, password, UA.phone);
        await addToCart(phone, 1, 1);
        const page = await laptop.get("/account/sessions");
        const phoneKey = phone.sessionKey()!;
        assert.ok(page.text.includes(`value="${phoneKey}"`));
        const res = await laptop.post("/account/sessions/end", { session: phoneKey, password, action: "selected" });
        assert.equal(res.status, 303);
        const phonePage = await phone.get("/cart");
        assert.doesNotMatch(phonePage.text, /Signed in as/);
        assert.equal(Client.badge(phonePage.text), 0);
        assert.match((await laptop.get("/cart")).text, /Signed in as/);
      });

      it("without the right password, nothing is signed out", async () => {
        const laptop = app.client();
        const { email, password } = await register(laptop);
        const phone = app.client();
        await signIn(phone, email, password, UA.phone);
        await laptop.get("/account/sessions");
        const res = await laptop.post("/account/sessions/end", { action: "all", password: "not my password" });
        assert.equal(res.status, 401);
        assert.match(res.text, /no session was signed out/);
        assert.match((await phone.get("/")).text, /Signed in as/);
      });

      it("guessing the password here is limited like sign-in: 10 wrong tries, then 429", async () => {
        const laptop = app.client();
        const { password } = await register(laptop);
        await laptop.get("/account/sessions");
        const wrong = await Promise.all(Array.from({ length: 10 }, () => laptop.post("/account/sessions/end", { action: "all", password: "guess guess 1" })));
        assert.ok(wrong.every((r) => r.status === 401));
        const blocked = await laptop.post("/account/sessions/end", { action: "all", password });
        assert.equal(blocked.status, 429);
        assert.match(blocked.text, /Too many wrong passwords/);
      });

      it("'sign out all other sessions' ends every other one", async () => {
        const main = app.client();
        const { email, password } = await register(main);
        const others = [app.client(), app.client(), app.client()];
        for (const [i, o] of others.entries()) await signIn(o, email, password, Object.values(UA)[i]!);
        await main.get("/account/sessions");
        await main.post("/account/sessions/end", { action: "all", password });
        for (const o of others) assert.doesNotMatch((await o.get("/")).text, /Signed in as/);
        assert.match((await main.get("/account/sessions")).text, /This browser/);
        assert.equal(app.sessionRows().length, 1);
      });

      it("cannot end someone else's session, or its own through this form", async () => {
        const mallory = app.client();
        const { password } = await register(mallory);
        const alice = app.client();
        await register(alice);
        await mallory.get("/account/sessions");
        const res = await mallory.post("/account/sessions/end", { session: alice.sessionKey()!, password, action: "selected" });
        assert.equal(res.status, 303);
        assert.match((await alice.get("/")).text, /Signed in as/, "alice is still signed in");
        assert.equal((await mallory.post("/account/sessions/end", { session: mallory.sessionKey()!, password })).status, 400);
        assert.equal((await mallory.post("/account/sessions/end", { session: "not-a-key", password })).status, 400);
      });

      it("needs a signed-in shopper", async () => {
        const res = await app.client().get("/account/sessions");
        assert.equal(res.status, 303);
        assert.equal(res.location, "/login?next=%2Faccount%2Fsessions");
      });
    });
  });
