/**
 * The grader: runs the shop's store contract (src/test/store-contract.ts, through contract-entry.ts)
 * on a student's store with node:test's own runner, reads which tests passed and failed, and tells
 * each result in plain words (properties.ts): what was proven, or which property broke, by what
 * requests or race, and where the lesson explains it. It never re-checks anything itself: pass or
 * fail is the suite's verdict, the words are only how it is told.
 */
import path from "node:path";
import { run } from "node:test";
import { type Exercise, findExercise, startFile } from "./exercises.ts";
import { contractProperties, type Failure, type Property } from "./properties.ts";

export interface Graded {
  /** The contract test's own name. */
  test: string;
  property: Property | undefined;
  failure?: Failure;
}

export interface GradeResult {
  exercise: Exercise;
  file: string;
  passed: boolean;
  proven: Graded[];
  failed: Graded[];
  /** Problems before any property could be tried: the file does not load, no createStore, a crash. */
  problems: string[];
  /** The whole report, as `npm run exercise` prints it. */
  report: string;
  ms: number;
}

/** Each contract test's deadline: a store whose call never answers fails that test instead of hanging the class. */
const TEST_TIMEOUT_MS = 15_000;
const entry = path.join(import.meta.dirname, "contract-entry.ts");

type ErrorLike = { message?: string; actual?: unknown; expected?: unknown; name?: string; code?: string; cause?: ErrorLike };

function failureOf(error: ErrorLike | undefined): Failure {
  const cause = error?.cause ?? error;
  const message = String(cause?.message ?? error?.message ?? "failed");
  // assert.rejects(…, /pattern/) met an error of the store's own (a TODO, a crash): tell that error.
  const rejectedWith = cause?.actual as ErrorLike | undefined;
  if (cause?.name === "AssertionError" && typeof rejectedWith?.message === "string" && /did not match/.test(message)) {
    return { message: rejectedWith.message, threw: true };
  }
  const threw = cause?.name !== "AssertionError";
  return { message, actual: cause?.actual, expected: cause?.expected, threw };
}

export async function gradeExercise(n: number, file?: string, options: { redisUrl?: string; postgresUrl?: string } = {}): Promise<GradeResult> {
  const exercise = findExercise(n);
  if (!exercise) throw new Error(`There is no exercise ${n}: see npm run exercise`);
  const target = path.resolve(file ?? startFile(exercise));
  const started = performance.now();
  const proven: Graded[] = [];
  const failed: Graded[] = [];
  const problems: string[] = [];
  const argv = [
    `--exercise=${n}`,
    `--file=${target}`,
    ...(options.redisUrl ? [`--redis=${options.redisUrl}`] : []),
    ...(options.postgresUrl ? [`--postgres=${options.postgresUrl}`] : []),
  ];
  // node:test's run() refuses to start from inside a test file (it sees NODE_TEST_CONTEXT and skips,
  // against recursion). The grader is a runner of its own, also when a test of the shop calls it:
  // hide the variable for the synchronous call (its children get their own context either way).
  const context = process.env.NODE_TEST_CONTEXT;
  delete process.env.NODE_TEST_CONTEXT;
  const stream = run({ files: [entry], argv, timeout: TEST_TIMEOUT_MS, isolation: "process" });
  if (context !== undefined) process.env.NODE_TEST_CONTEXT = context;
  let stderr = "";
  for await (const event of stream) {
    if (event.type === "test:stderr") stderr += event.data.message;
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { name, nesting, details } = event.data;
    const property = contractProperties[name];
    if (nesting === 1) {
      if (event.type === "test:pass") proven.push({ test: name, property });
      else failed.push({ test: name, property, failure: failureOf(details.error as ErrorLike) });
    } else if (nesting === 0 && event.type === "test:fail" && !name.endsWith("session store")) {
      // The file itself failed before any test: it does not load, or has no createStore.
      problems.push(failureOf(details.error as ErrorLike).message);
    }
  }
  // A file that fails to load reports only "test failed"; the reason is the error it printed.
  const printed = /^\w*Error\b.*$/m.exec(stderr)?.[0];
  for (const [i, p] of problems.entries()) if (p === "test failed" && printed) problems[i] = printed;
  if (proven.length + failed.length === 0 && problems.length === 0) problems.push(stderr.trim() || "the contract did not run");
  const passed = problems.length === 0 && failed.length === 0 && proven.length > 0;
  const result = { exercise, file: target, passed, proven, failed, problems, ms: Math.round(performance.now() - started) };
  return { ...result, report: tell({ ...result, stderr }) };
}

const relative = (file: string) => path.relative(process.cwd(), file) || file;

function tell(r: Omit<GradeResult, "report"> & { stderr: string }): string {
  const out: string[] = [];
  const total = r.proven.length + r.failed.length;
  out.push(`Exercise ${r.exercise.number}: ${r.exercise.title}`);
  out.push(`Graded: ${relative(r.file)}, against the shop's own store contract (src/test/store-contract.ts), ${(r.ms / 1000).toFixed(1)} s`);
  out.push("");
  if (r.problems.length > 0) {
    out.push("Your store could not be tried:");
    for (const p of r.problems) out.push(`  ${firstLines(p, 6)}`);
    const hint = /Cannot find module|ERR_MODULE_NOT_FOUND|SyntaxError/.test(r.problems.join(" ") + r.stderr) ? firstLines(r.stderr, 8) : "";
    if (hint) out.push("", hint);
    out.push("", `It must export createStore(deps): see exercises/${r.exercise.slug}/README.md.`);
    return out.join("\n");
  }
  for (const g of r.failed) {
    const p = g.property;
    const f = g.failure!;
    out.push(`✗ ${p ? cap(p.short) : g.test}: NOT YET`);
    if (p) {
      out.push(`  The property: ${p.proven}.`);
      out.push(`  What the test did: ${p.scenario}.`);
    }
    const told = p?.told?.(f);
    if (told) out.push(`  What went wrong: ${told}`);
    else if (f.threw) out.push(`  What went wrong: your store threw “${firstLines(f.message, 3)}”.`);
    else out.push(`  What went wrong: ${firstLines(f.message, 8)}`);
    if (p) {
      out.push(`  In the shop: ${p.inTheShop}.`);
      out.push(`  Read: ${p.lesson}`);
    }
    out.push("");
  }
  for (const g of r.proven) out.push(`✓ ${g.property ? g.property.proven : g.test}`);
  out.push("");
  if (r.passed) {
    out.push(`PASSED: all ${total} properties of the shop's store contract hold for your store, the same suite the shop's own stores pass.`);
    out.push(`Shop on it: SESSION_STORE=${asPath(relative(r.file))} npm start`);
  } else {
    const names = r.failed.map((g) => g.property?.short ?? g.test).join(", ");
    out.push(`NOT YET: ${r.proven.length} of ${total} properties hold. To fix: ${names}.`);
    out.push(`The lesson: ${r.exercise.lessons.map((l) => l.link).join(", ")}`);
  }
  return out.join("\n");
}

const asPath = (p: string) => (path.isAbsolute(p) || p.startsWith(".") ? p : `./${p}`);
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const firstLines = (s: string, n: number) => s.trim().split("\n").slice(0, n).join("\n  ");
