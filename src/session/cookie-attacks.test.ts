/**
 * Hostile and broken cookies over real HTTP (src/test/cookie-attacks-suite.ts) on the techniques that
 * need no server: SQLite on a real file, and the memory store. PostgreSQL runs the same suite in
 * postgres-technique.test.ts.
 */
import { cookieAttacksSuite } from "../test/cookie-attacks-suite.ts";

cookieAttacksSuite("sqlite");
cookieAttacksSuite("memory");
