/**
 * The session lifecycle over real HTTP (src/test/lifecycle-suite.ts) on the techniques that need no
 * server: SQLite on a real file, and the memory store. PostgreSQL runs the same suite in
 * postgres-technique.test.ts.
 */
import { sessionLifecycleSuite } from "../test/lifecycle-suite.ts";

sessionLifecycleSuite("sqlite");
sessionLifecycleSuite("memory");
