/**
 * Password hashing with scrypt from node:crypto, at the cost OWASP's Password Storage Cheat
 * Sheet recommends (N=2^17, r=8, p=1: 128 MiB and a few hundred ms per hash). It runs on
 * libuv's thread pool (the async API), so hashing never blocks other requests' JavaScript.
 *
 * Stored as "scrypt$N$r$p$salt$hash" so the cost can be raised later and old hashes still verify.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { HttpError } from "../errors.ts";

const KEY_LENGTH = 32;
export type ScryptCost = { readonly N: number; readonly r: number; readonly p: number };
export const OWASP_SCRYPT: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

function scryptAsync(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFC"), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, params: ScryptCost = OWASP_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = await scryptAsync(password, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(r), p: Number(p) });
  // Constant-time comparison: the time taken reveals nothing about how many bytes matched.
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Hashing, rationed. scrypt runs on libuv's thread pool (4 threads), and so do the shop's file
 * reads (static files) and its gzip/brotli: twenty simultaneous sign-ins would fill every thread
 * for seconds and stall unrelated pages behind them. So at most `concurrency` hashes run at once
 * (the rest of the pool stays free for everybody else), at most `maxWaiting` wait their turn, and
 * past that the visitor gets a clear 503 with Retry-After instead of a page that hangs.
 */
export function createPasswordHasher(options: { concurrency: number; maxWaiting: number; params?: ScryptCost }) {
  let running = 0;
  const waiting: (() => void)[] = [];
  const busy = () =>
    new HttpError(503, "Many people are signing in right now. Please try again in a few seconds.", "Back in a moment", { retryAfterSeconds: 2 });

  async function rationed<T>(work: () => Promise<T>): Promise<T> {
    if (running < options.concurrency) running++;
    else {
      if (waiting.length >= options.maxWaiting) throw busy();
      await new Promise<void>((resolve) => waiting.push(resolve)); // the finishing hash hands its slot over
    }
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

  return {
    hash: (password: string) => rationed(() => hashPassword(password, options.params)),
    verify: (password: string, stored: string) => rationed(() => verifyPassword(password, stored)),
    /** For tests and the log: how many hashes run and wait now. */
    get load() {
      return { running, waiting: waiting.length };
    },
  };
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>;

/**
 * Password rules in the spirit of NIST SP 800-63B and OWASP ASVS: long enough, not absurdly
 * long (scrypt input is bounded), no composition rules, and not one of the most common choices.
 */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 128;
const COMMON = new Set([
  "password",
  "password1",
  "password12",
  "password123",
  "1234567890",
  "123456789",
  "12345678",
  "qwertyuiop",
  "iloveyou",
  "letmein123",
  "welcome123",
  "abc1234567",
  "qwerty1234",
  "1q2w3e4r5t",
  "passw0rd12",
  "administrator",
  "sunshine12",
  "football12",
  "0987654321",
  "1111111111",
]);

export function passwordProblem(password: string, email: string): string | null {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
  if (COMMON.has(password.toLowerCase())) return "That password is one of the most common ones; choose another.";
  if (password.toLowerCase() === email.toLowerCase()) return "Your password must not be your email address.";
  return null;
}
