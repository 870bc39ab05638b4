/**
 * A process's CPU time so far, for the benches' CPU-per-request figures.
 *
 * /proc/<pid>/stat counts user + sys in clock ticks of 10 ms: a 2 s slice of a cheap route is about
 * 60 ticks, so one tick either way moved a slice's figure by ≈ 2 %, on both halves of a pair. Each
 * thread's /proc/<pid>/task/<tid>/schedstat gives its time on the CPU in nanoseconds; their sum is
 * the process's. `cpuMeter(pid)` remembers each thread's reading, so a thread that starts between
 * two readings counts whole and one that ends does not subtract what it had done.
 */
import fs from "node:fs";

const ticksUs = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime, stime (fields 14 and 15)
};

/** µs of CPU per thread of `pid`, or null where the kernel gives no schedstat. */
function threadsUs(pid: number): Map<string, number> | null {
  const threads = new Map<string, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    // The process has ended (a PostgreSQL backend whose connection the pool closed): nothing more to count.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return threads;
    throw error;
  }
  for (const tid of tids) {
    try {
      const ns = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      if (!Number.isFinite(ns)) return null;
      threads.set(tid, ns / 1000);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && fs.existsSync(`/proc/${pid}/task/${tid}`)) return null;
      // the thread ended while we listed them: it is not counted from here on
    }
  }
  return threads;
}

/** A meter of one process's CPU: each call returns the µs it used since the meter was made. */
export function cpuMeter(pid: number): () => number {
  const start = threadsUs(pid);
  if (!start) {
    const t0 = ticksUs(pid);
    return () => ticksUs(pid) - t0;
  }
  const seen = new Map(start);
  let total = 0;
  return () => {
    for (const [tid, us] of threadsUs(pid) ?? new Map<string, number>()) {
      total += us - (seen.get(tid) ?? 0);
      seen.set(tid, us);
    }
    return total;
  };
}
