import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import type mysql from "mysql2/promise";
import type { GraphQLClient } from "../support/client.js";
import { createPartner, issueKey, submitRfi, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";
import { lockingConnection } from "../support/locks.js";
import { eventually } from "../support/wait.js";

/** The calm a burst must keep before the loops resume (src/db/burst-yield.ts), with room. */
const AFTER_CALM_MS = 700;

describe("operations > the background gives way to a burst of requests", function () {
  this.timeout(30_000);
  const server = useTestServer({ BACKGROUND_YIELD_AT: "8", BACKGROUND_YIELD_MAX: "2s" });
  let partner: TestPartner;
  let holder: mysql.Connection;
  let hanging: Promise<unknown>[] = [];

  before(async () => {
    partner = await createPartner(server.current);
    holder = await lockingConnection();
  });

  after(async () => {
    await holder.end();
  });

  afterEach(async () => {
    await holder.query("UNLOCK TABLES");
    await Promise.all(hanging);
    hanging = [];
    await sleep(AFTER_CALM_MS);
  });

  /**
   * `count` GraphQL requests in flight until UNLOCK TABLES: each looks up an unknown key in the locked
   * api_keys. Answers a new INTAKE key, looked up before the lock: the server answers it from memory
   * (for 5 s) meanwhile.
   */
  async function hangRequests(count: number): Promise<GraphQLClient> {
    const intake = await issueKey(server.current, "INTAKE");
    await intake.data("{ me { role } }");
    await holder.query("LOCK TABLES api_keys WRITE");
    for (let i = 0; i < count; i++) {
      const request = fetch(`${server.current.url}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer prk_unknown_${i}_${Date.now()}` },
        body: JSON.stringify({ query: "{ me { role } }" }),
      });
      hanging.push(request.then((response) => response.text()));
    }
    await eventually(`${count} requests wait for api_keys`, async () => {
      const [rows] = await holder.query<mysql.RowDataPacket[]>(
        "SELECT COUNT(*) AS waiting FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for table%' AND INFO LIKE '%api_keys%'",
      );
      return Number(rows[0].waiting) >= count;
    });
    return intake;
  }

  async function unplacedEventsOf(referralId: string): Promise<number> {
    const [{ n }] = await server.current.db.query(
      "SELECT COUNT(*) AS n FROM referral_events WHERE referral_id = ? AND feed_batch IS NULL",
      [referralId],
    );
    return Number(n);
  }

  it("places changes at once while fewer than BACKGROUND_YIELD_AT requests are in flight or have just started", async () => {
    // Two hanging and the submission: three in flight; five started (the key's two included) within 250 ms.
    const intake = await hangRequests(2);
    const { referralIds } = await submitRfi(intake, { partnerIds: [partner.id] });
    await eventually("the arrival is placed", async () => (await unplacedEventsOf(referralIds[0])) === 0, 1_000);
  });

  it("holds placement from BACKGROUND_YIELD_AT requests in flight, and places what waited once the burst has ended", async () => {
    const intake = await hangRequests(8);
    const { referralIds } = await submitRfi(intake, { partnerIds: [partner.id] });
    await sleep(800);
    expect(await unplacedEventsOf(referralIds[0]), "placed during the burst").to.equal(1);
    await holder.query("UNLOCK TABLES");
    await Promise.all(hanging);
    await eventually("the arrival is placed after the burst", async () => (await unplacedEventsOf(referralIds[0])) === 0, 3_000);
  });

  it("holds for a burst of short requests too: those started within 250 ms count, not only those in flight", async () => {
    const intake = await issueKey(server.current, "INTAKE");
    await sleep(AFTER_CALM_MS);
    await Promise.all(Array.from({ length: 8 }, () => intake.data("{ me { role } }")));
    const { referralIds } = await submitRfi(intake, { partnerIds: [partner.id] });
    await sleep(150);
    expect(await unplacedEventsOf(referralIds[0]), "placed during the burst").to.equal(1);
    await eventually("the arrival is placed once the burst is calm", async () => (await unplacedEventsOf(referralIds[0])) === 0, 3_000);
  });

  it("never holds longer than BACKGROUND_YIELD_MAX, however long the burst lasts, nor again until it has ended", async () => {
    const intake = await hangRequests(8);
    const started = Date.now();
    const first = await submitRfi(intake, { partnerIds: [partner.id] });
    await eventually(
      "the arrival is placed once the hold has lasted 2 s",
      async () => (await unplacedEventsOf(first.referralIds[0])) === 0,
      5_000,
    );
    expect(Date.now() - started).to.be.at.least(1_500);
    const stillHanging = await Promise.race([Promise.all(hanging).then(() => false), sleep(50).then(() => true)]);
    expect(stillHanging, "the burst still runs").to.equal(true);
    // The burst goes on: the next change is placed at once.
    const second = await submitRfi(intake, { partnerIds: [partner.id] });
    await eventually(
      "a change during the same burst is placed at once",
      async () => (await unplacedEventsOf(second.referralIds[0])) === 0,
      1_000,
    );
  });
});
