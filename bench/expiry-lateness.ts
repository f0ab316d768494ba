// How late do referrals expire? Creates N referrals with a short response window on a real server
// (MariaDB, Agenda on Redis), waits until all are MISSED, and compares each MISS event's time with
// the deadline. Baseline, in the same process: a plain setTimeout armed for the same deadlines.
// Usage: npm run bench:expiry [-- <count>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { startServer } from "../src/app/server.js";
import { GraphQLClient } from "../test/support/client.js";
import { dropDatabase, freshConfig, percentiles, purgeNamespace, table } from "./support.js";

const COUNT = Number(process.argv[2] ?? 250);
const WINDOW = "20s";
const DATABASE = "partner_referrals_bench";
const adminKey = randomBytes(32).toString("base64url");

const config = await freshConfig(DATABASE, adminKey, { NEW_REFERRAL_RESPONSE_WINDOW: WINDOW, EXPIRY_SWEEP_EVERY: "1h" });
const server = await startServer(config);
const admin = new GraphQLClient(server.url, adminKey);

const { createPartner } = await admin.data(`mutation { createPartner(input: { name: "Bench partner" }) { partner { id } } }`);
const partnerId = createPartner.partner.id;
await admin.data(
  `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
     contactEmail: "bench@partner.example", keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
  { id: partnerId },
);

const deadlines = new Map<string, number>();
const timerLateness: number[] = [];
for (let done = 0; done < COUNT; done += 10) {
  await Promise.all(
    Array.from({ length: Math.min(10, COUNT - done) }, async () => {
      const { submitRfi } = await admin.data(
        `mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { referrals { id respondBy } } }`,
        {
          input: {
            customer: { companyName: "Fabrikam", contactName: "Ann Lee", email: "ann@fabrikam.example" },
            need: "Bench",
            companySize: "SIZE_1_TO_9",
            region: "FR",
            partnerIds: [partnerId],
          },
        },
      );
      const [{ id, respondBy }] = submitRfi.referrals;
      const due = new Date(respondBy).getTime();
      deadlines.set(id, due);
      setTimeout(() => timerLateness.push(Date.now() - due), due - Date.now());
    }),
  );
}
console.error(`created ${deadlines.size} referrals; waiting for their ${WINDOW} deadlines`);

const ids = [...deadlines.keys()];
for (;;) {
  const [{ left }] = await server.db.query("SELECT COUNT(*) AS `left` FROM referrals WHERE status = 'NEW'");
  if (Number(left) === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const events: { id: string; at: Date }[] = await server.db.query(
  "SELECT CAST(referral_id AS CHAR) AS id, at FROM referral_events WHERE action = 'MISS' AND referral_id IN (?)",
  [ids],
);
const lateness = events.map(({ id, at }) => at.getTime() - deadlines.get(id)!);
await server.stop();

const expiry = percentiles(lateness);
const timer = percentiles(timerLateness);
console.log(
  table(
    ["", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"],
    [
      ["deadline → MISSED (Agenda on Redis)", lateness.length, expiry.p50, expiry.p95, expiry.p99, expiry.max],
      ["deadline → setTimeout fires (baseline)", timerLateness.length, timer.p50, timer.p95, timer.p99, timer.max],
      ["ratio", "", ratio(expiry.p50, timer.p50), ratio(expiry.p95, timer.p95), ratio(expiry.p99, timer.p99), ratio(expiry.max, timer.max)],
    ],
  ),
);
const once = new Set(events.map(({ id }) => id)).size === events.length;
console.log(
  `\n${events.length} MISS events for ${COUNT} referrals (${once ? "one each" : "SOME TWICE"}); deadlines ${WINDOW} after arrival.`,
);
await dropDatabase(DATABASE);
await purgeNamespace(DATABASE);
process.exit(0);

function ratio(value: number, baseline: number): string {
  return `${(value / Math.max(baseline, 1)).toFixed(1)}×`;
}
