/**
 * npm run bench:rolling — what a restart behind nginx costs the shoppers, the plain way and the
 * documented way (scripts/rolling-restart.ts), round after round: 32 shoppers adding to their
 * carts through nginx (keepalive 16) while instances restart. Prints the answers per round.
 * Options: --rounds 4.
 */
import { rollingRestartUnderLoad, type RestartMode } from "../src/test/rolling-restart-load.ts";

const i = process.argv.indexOf("--rounds");
const rounds = i > 0 ? Number(process.argv[i + 1]) : 4;
for (const mode of ["plain-sigterm", "procedure"] as RestartMode[]) {
  let bad = 0;
  let roundsWithBad = 0;
  for (let round = 1; round <= rounds; round++) {
    const r = await rollingRestartUnderLoad(mode);
    const failed = [...r.statuses].filter(([k]) => k !== "303").reduce((n, [, v]) => n + v, 0);
    bad += failed;
    if (failed > 0) roundsWithBad++;
    console.log(
      `${mode.padEnd(13)} round ${round}: ${JSON.stringify(Object.fromEntries(r.statuses))}, exits ${r.exits.map((e) => `${e.code} in ${e.ms} ms`).join(", ")}, resent ${r.resent}, lost ${r.missing}`,
    );
  }
  console.log(`${mode}: ${bad} failed adds in ${roundsWithBad} of ${rounds} rounds\n`);
}
