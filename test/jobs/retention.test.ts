import { expect } from "chai";
import { deleteOlderThan } from "../../src/db/retention.js";
import { testDatabase } from "../support/database.js";
import { createPartner, submitRfi, type TestPartner } from "../support/fixtures.js";
import { startEmptyServer, startTestServer, type TestServer } from "../support/harness.js";
import { purgeNamespace } from "../support/redis.js";
import { eventually } from "../support/wait.js";

const HOUR_MS = 3_600_000;

describe("jobs > retention", function () {
  this.timeout(60_000);
  let server: TestServer;
  let partner: TestPartner;

  before(async () => {
    server = await startEmptyServer();
    partner = await createPartner(server);
  });
  after(async () => {
    await server?.db.query("DELETE FROM outbox_messages WHERE channel = 'test'");
    await server?.stop();
  });

  /**
   * Outbox rows written straight to the table, `hoursAgo` old, with the given statuses; their dedupe
   * keys. On a channel no relay lane claims, so that only the retention changes them.
   */
  async function messages(marker: string, hoursAgo: number, statuses: string[]): Promise<string[]> {
    const createdAt = new Date(Date.now() - hoursAgo * HOUR_MS);
    const keys = statuses.map((_, index) => `${marker}:${hoursAgo}h:${index}`);
    await server.db.query(
      `INSERT INTO outbox_messages (channel, kind, dedupe_key, recipient, locale, status, attempts, next_attempt_at, created_at)
       VALUES ${statuses.map(() => "('test', 'NEW_REFERRAL', ?, 'someone@partner.example', 'EN', ?, 1, ?, ?)").join(", ")}`,
      statuses.flatMap((status, index) => [keys[index], status, createdAt, createdAt]),
    );
    return keys;
  }

  async function keptOf(marker: string): Promise<string[]> {
    const rows: { key: string }[] = await server.db.query(
      "SELECT dedupe_key AS `key` FROM outbox_messages WHERE dedupe_key LIKE ? ORDER BY id",
      [`${marker}:%`],
    );
    return rows.map((row) => row.key);
  }

  it("deletes finished outbox messages older than the cutoff, in batches, and keeps pending and newer ones", async () => {
    const marker = `retention-${Date.now()}`;
    let batches = 0;
    const oldSucceeded = await messages(marker, 3, ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    const oldPending = await messages(`${marker}p`, 3, ["PENDING"]);
    const oldFailed = await messages(marker, 2, ["FAILED", "PENDING", "FAILED"]);
    const recent = await messages(marker, 0, ["SUCCEEDED", "FAILED"]);
    expect(oldSucceeded.length + oldFailed.length + recent.length + oldPending.length).to.equal(11);

    const deleted = await deleteOlderThan(
      server.db,
      { table: "outbox_messages", finished: { sql: "status IN (?, ?)", parameters: ["SUCCEEDED", "FAILED"] } },
      new Date(Date.now() - HOUR_MS),
      { batch: 2, afterBatch: async () => void batches++ },
    );

    expect(deleted).to.equal(7);
    // Three full batches of 2, then a short one ends the run.
    expect(batches).to.equal(3);
    expect(await keptOf(marker)).to.deep.equal([oldFailed[1], ...recent]);
    expect(await keptOf(`${marker}p`)).to.deep.equal(oldPending);
    // Nothing left to delete: a second run finds nothing (any instance may run it again).
    expect(await deleteOlderThan(server.db, { table: "outbox_messages" }, new Date(Date.now() - 4 * HOUR_MS))).to.equal(0);
    // Rows newer than a cutoff end the range it deletes from: these would hold back the next test's old rows.
    await server.db.query("DELETE FROM outbox_messages WHERE channel = 'test'");
  });

  it("runs at start on a server: past OUTBOX_RETENTION and IDEMPOTENCY_RETENTION rows are gone, a late retry makes a new RFI", async () => {
    const marker = `retention-server-${Date.now()}`;
    const oldMessages = await messages(marker, 3, ["SUCCEEDED", "FAILED"]);
    const newMessages = await messages(marker, 0, ["SUCCEEDED"]);
    const old = await submitRfi(server.admin, { partnerIds: [partner.id], idempotencyKey: `${marker}-old` });
    const kept = await submitRfi(server.admin, { partnerIds: [partner.id], idempotencyKey: `${marker}-kept` });
    await server.db.query("UPDATE idempotency_records SET created_at = created_at - INTERVAL 3 HOUR WHERE idempotency_key = ?", [
      `${marker}-old`,
    ]);

    // A second instance with short retentions, on a job store of its own so that its job is new and due now.
    const namespace = `${testDatabase.database}_retention`;
    await purgeNamespace(namespace);
    const pruning = await startTestServer({ OUTBOX_RETENTION: "1h", IDEMPOTENCY_RETENTION: "1h", JOBS_NAMESPACE: namespace });
    try {
      await eventually("the retention job ran", async () => (await keptOf(marker)).length === newMessages.length);
      expect(await keptOf(marker)).to.deep.equal(newMessages);
      expect(oldMessages).to.have.length(2);
      const records: { key: string }[] = await server.db.query(
        "SELECT idempotency_key AS `key` FROM idempotency_records WHERE idempotency_key LIKE ? ORDER BY id",
        [`${marker}-%`],
      );
      expect(records.map((record) => record.key)).to.deep.equal([`${marker}-kept`]);
      // Within the retention, a retry returns the first RFI; past it, the key is free again.
      expect((await submitRfi(pruning.admin, { partnerIds: [partner.id], idempotencyKey: `${marker}-kept` })).rfiId).to.equal(kept.rfiId);
      expect((await submitRfi(pruning.admin, { partnerIds: [partner.id], idempotencyKey: `${marker}-old` })).rfiId).to.not.equal(old.rfiId);
    } finally {
      await pruning.stop();
      await purgeNamespace(namespace);
    }
  });
});
