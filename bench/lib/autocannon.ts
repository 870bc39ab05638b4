/** One autocannon run in which every connection carries its own session (cookie, CSRF token). */
import autocannon from "autocannon";

export interface Measure {
  /** Responses ÷ seconds (a secondary figure: ratios are taken per slice, see run.ts). */
  rps: number;
  /** Completed responses in the run. */
  responses: number;
  p50: number;
  p99: number;
  /** Connection errors, timeouts and 4xx/5xx answers: any of them makes the run invalid. */
  bad: number;
}

export async function loadWithSessions(
  url: string,
  requests: autocannon.Request[],
  perClient: Record<string, string>[],
  seconds: number,
  connections: number,
): Promise<Measure> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests,
    setupClient: (client) => {
      const headers = perClient[next++ % perClient.length] ?? {};
      client.setRequests(requests.map((r) => ({ ...r, headers: { ...r.headers, ...headers } })));
    },
  });
  // Redirects are fine (the shop's POSTs answer 303); refusals and failures are not.
  const bad = result.errors + result.timeouts + result["4xx"] + result["5xx"];
  // req/s from the total over a whole-second duration, not from autocannon's per-second buckets.
  const responses = result.requests.total;
  return { rps: Math.round(responses / seconds), responses, p50: result.latency.p50, p99: result.latency.p99, bad };
}
