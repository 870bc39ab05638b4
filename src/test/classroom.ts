/**
 * Classroom shops for the lab tests over real HTTP: each started with an instructor's password (and
 * whatever the test adds), all closed after the file's tests; and an instructor signed in on a page,
 * which holds the instructor's token the next form needs.
 */
import { after } from "node:test";
import assert from "node:assert/strict";
import { type Client, startTestApp } from "./harness.ts";

export const INSTRUCTOR_PASSWORD = "a long classroom password";
export type TestApp = Awaited<ReturnType<typeof startTestApp>>;

/** `shop(env)` starts one; `env` defaults to `defaults` (e.g. the vulnerable labs allowed). */
export function classroomShops(defaults: Record<string, string> = {}) {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.close();
  });
  return async function shop(env: Record<string, string> = defaults): Promise<TestApp> {
    const app = await startTestApp({ INSTRUCTOR_PASSWORD, ...env });
    apps.push(app);
    return app;
  };
}

/** A client signed in as the instructor, on `page` (its forms carry the instructor's token). */
export async function instructorOn(app: TestApp, page: string, password = INSTRUCTOR_PASSWORD): Promise<Client> {
  const teacher = app.client();
  await teacher.get("/instructor/login");
  assert.equal((await teacher.post("/instructor/login", { password, next: page })).status, 303);
  await teacher.get(page);
  return teacher;
}
