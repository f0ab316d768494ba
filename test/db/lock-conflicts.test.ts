import { expect } from "chai";
import { GraphQLError } from "graphql";
import type mysql from "mysql2/promise";
import { pino } from "pino";
import { QueryFailedError } from "typeorm";
import { DEADLOCK_ATTEMPTS } from "../../src/db/errors.js";
import { isDeadlock } from "../../src/db/lock-conflicts.js";
import { createErrorFormatter, DATABASE_BUSY } from "../../src/graphql/errors.js";
import { createPartner, newReferral, type TestPartner } from "../support/fixtures.js";
import { startTestServer, useTestServer } from "../support/harness.js";
import { lockingConnection, untilWaiting, waitingForLocks, weighDown } from "../support/locks.js";
import { eventually } from "../support/wait.js";
import { WebhookReceiver } from "../support/webhook-receiver.js";
import { endpointFor } from "../support/webhooks.js";

const IGNORE = `mutation($id: ID!) { ignoreReferral(id: $id, reason: "Too busy") { id status version } }`;

/**
 * An INSERT … SELECT into the outbox: it takes the table's AUTO-INC lock with its first row (referral
 * `first`) and keeps it for the whole statement, meanwhile reading `then`, as the sequencer's webhook
 * deliveries did. Rolled back by the caller: nothing of it stays.
 */
function bulkInsertIntoOutbox(connection: mysql.Connection, first: string, then: string) {
  return connection.query(
    `INSERT INTO outbox_messages (channel, kind, dedupe_key, referral_id, recipient, locale, status, attempts, next_attempt_at, created_at)
     SELECT 'email', 'TEST', CONCAT('lock-test:', r.id, ':', CONNECTION_ID()), r.id, 'nobody@example.com', 'EN', 'PENDING', 0, NOW(3), NOW(3)
     FROM referrals r WHERE r.id IN (?, ?) ORDER BY r.id`,
    [first, then],
  );
}

type DriverError = Error & { code?: string; errno?: number };

/** What mysql2 rejects `statement` with. */
async function refusal(statement: Promise<unknown>): Promise<DriverError> {
  try {
    await statement;
  } catch (error) {
    return error as DriverError;
  }
  return expect.fail("the statement was expected to fail");
}

describe("database > lock conflicts", () => {
  const server = useTestServer();
  let partner: TestPartner;
  const opened: mysql.Connection[] = [];
  let observer: mysql.Connection;

  /** A connection of the test's, in a transaction, closed after the test. */
  async function transaction(): Promise<mysql.Connection> {
    const connection = await lockingConnection();
    opened.push(connection);
    await connection.query("START TRANSACTION");
    return connection;
  }

  /**
   * innodb_autoinc_lock_mode 1, MariaDB's default: an INSERT … SELECT holds the table's AUTO-INC lock
   * for the whole statement (under MySQL 8.4's default, 2, it never does, and the cycles below cannot form).
   */
  let autoIncrementLocks = false;

  before(async () => {
    partner = await createPartner(server.current);
    observer = await lockingConnection();
    const [[{ mode }]] = (await observer.query("SELECT @@innodb_autoinc_lock_mode AS mode")) as unknown as [[{ mode: number }]];
    autoIncrementLocks = Number(mode) === 1;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((connection) => connection.end()));
  });
  after(async () => {
    await observer?.end();
  });

  describe("isDeadlock", () => {
    /** Real lock conflicts of mysql2 connections (the AUTO-INC one where it can happen), and a duplicate key for contrast. */
    let conflicts: DriverError[];
    let duplicate: DriverError;

    before(async function () {
      this.timeout(60_000);
      const [a, b] = [await newReferral(server.current, partner), await newReferral(server.current, partner)];
      const lock = "SELECT id FROM referrals WHERE id = ? FOR UPDATE";

      // Two transactions taking two rows in opposite orders.
      const [first, second] = [await transaction(), await transaction()];
      await first.query(lock, [a]);
      await second.query(lock, [b]);
      await weighDown(first);
      const waiting = first.query(lock, [b]);
      await untilWaiting(observer, "the first waits for the second", ({ thread }) => thread === first.threadId);
      const deadlock = await refusal(second.query(lock, [a]));
      await waiting;
      await first.query("ROLLBACK");

      // A wait longer than the session allows.
      const [holder, waiter] = [await transaction(), await transaction()];
      await holder.query(lock, [a]);
      await waiter.query("SET SESSION innodb_lock_wait_timeout = 1");
      const timeout = await refusal(waiter.query(lock, [a]));
      await holder.query("ROLLBACK");

      conflicts = [deadlock, timeout];
      duplicate = await refusal(
        observer.query("INSERT INTO partners (id, name, created_at) VALUES (?, 'Duplicate', NOW(3))", [partner.id]),
      );
      if (!autoIncrementLocks) return;

      // A bulk insert holds the outbox's AUTO-INC lock while it waits for a referral that a lighter
      // transaction holds, which then inserts into the outbox.
      const [light, bulk] = [await transaction(), await transaction()];
      await light.query(lock, [b]);
      await weighDown(bulk);
      const inserting = bulkInsertIntoOutbox(bulk, a, b);
      await untilWaiting(observer, "the bulk insert waits for the referral", ({ thread }) => thread === bulk.threadId);
      const autoIncrement = await refusal(
        light.query(
          `INSERT INTO outbox_messages (channel, kind, dedupe_key, referral_id, recipient, locale, status, attempts, next_attempt_at, created_at)
           VALUES ('email', 'TEST', CONCAT('lock-test:light:', CONNECTION_ID()), ?, 'nobody@example.com', 'EN', 'PENDING', 0, NOW(3), NOW(3))`,
          [b],
        ),
      );
      await inserting;
      await bulk.query("ROLLBACK");
      conflicts.push(autoIncrement);
    });

    it("knows a deadlock victim, a lock wait timeout and an AUTO-INC lock lost in a deadlock, as mysql2 and TypeORM give them", () => {
      expect(conflicts.map(({ code, errno }) => [code, errno])).to.deep.equal([
        ["ER_LOCK_DEADLOCK", 1213],
        ["ER_LOCK_WAIT_TIMEOUT", 1205],
        ...(autoIncrementLocks ? [["ER_AUTOINC_READ_FAILED", 1467]] : []),
      ]);
      for (const error of conflicts) {
        expect(isDeadlock(error), error.message).to.equal(true);
        expect(isDeadlock(new QueryFailedError("SELECT 1", [], error)), `${error.message}, as TypeORM wraps it`).to.equal(true);
      }
      for (const other of [duplicate, new QueryFailedError("SELECT 1", [], duplicate), new Error("ER_LOCK_DEADLOCK"), null, undefined]) {
        expect(isDeadlock(other)).to.equal(false);
      }
    });

    it("makes the error formatter answer SERVICE_UNAVAILABLE, not INTERNAL_SERVER_ERROR, for a lock conflict nothing retried", () => {
      const format = createErrorFormatter({ logger: pino({ level: "silent" }), hideSchemaHints: false });
      const formatted = (error: Error) =>
        format(
          { message: error.message, path: ["ignoreReferral"], extensions: { code: "INTERNAL_SERVER_ERROR" } },
          new GraphQLError(error.message, { path: ["ignoreReferral"], originalError: error }),
        );
      for (const conflict of conflicts) {
        expect(formatted(new QueryFailedError("UPDATE referrals SET status = ?", ["IGNORED"], conflict))).to.deep.equal({
          message: DATABASE_BUSY,
          locations: undefined,
          path: ["ignoreReferral"],
          extensions: { code: "SERVICE_UNAVAILABLE" },
        });
      }
      const masked = formatted(new QueryFailedError("INSERT INTO partners", [], duplicate));
      expect(masked.extensions?.code).to.equal("INTERNAL_SERVER_ERROR");
    });
  });

  describe("requests", () => {
    /**
     * A heavy transaction of the test's (InnoDB rolls back the lighter side of a deadlock) holding one
     * of the partner's counters that the decision's next run adds to (LEFT_NEW: it answered; DECIDED:
     * it decided). Alternating the two lets the next holder take its lock while the last one still
     * holds the referral.
     */
    async function holdForDecision(counter: "LEFT_NEW" | "DECIDED"): Promise<mysql.Connection> {
      const holder = await transaction();
      await weighDown(holder);
      await holder.query("SELECT * FROM partner_counters WHERE partner_id = ? AND kind = ? AND value = '' FOR UPDATE", [
        partner.id,
        counter,
      ]);
      return holder;
    }

    /**
     * Once the decision's run waits for `holder` (holding its referral), the holder asks for that
     * referral: a cycle, which InnoDB breaks by rolling the decision's run back. Answers once the holder
     * has the referral, which the decision's next run then waits for.
     */
    async function loseOnce(holder: mysql.Connection, referral: string): Promise<void> {
      const ours = new Set([observer.threadId, ...opened.map((connection) => connection.threadId)]);
      await untilWaiting(
        observer,
        "the decision waits for the partner's counters",
        ({ thread, statement }) => !ours.has(thread) && statement.includes("partner_counters"),
      );
      await holder.query("SELECT id FROM referrals WHERE id = ? FOR UPDATE", [referral]);
    }

    /** The request over HTTP, with the status and Retry-After of its answer. */
    async function ignore(id: string) {
      const response = await fetch(partner.api.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${partner.api.key}` },
        body: JSON.stringify({ query: IGNORE, variables: { id } }),
      });
      const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
      return { status: response.status, retryAfter: response.headers.get("retry-after"), body };
    }

    /** The referral, its events and its e-mails, once everything committed is placed. */
    async function stored(id: string) {
      await server.current.sequencer.settle();
      const [referral] = await server.current.db.query("SELECT status, version FROM referrals WHERE id = ?", [id]);
      const events = await server.current.db.query("SELECT action FROM referral_events WHERE referral_id = ? ORDER BY id", [id]);
      const emails = await server.current.db.query("SELECT kind FROM outbox_messages WHERE referral_id = ? ORDER BY id", [id]);
      return {
        status: referral.status,
        version: Number(referral.version),
        events: events.map((event: { action: string }) => event.action),
        emails: emails.map((email: { kind: string }) => email.kind),
      };
    }

    it("runs a decision again when it loses a deadlock, and it succeeds", async function () {
      this.timeout(60_000);
      const referral = await newReferral(server.current, partner);
      const holder = await holdForDecision("LEFT_NEW");
      const answer = ignore(referral);
      await loseOnce(holder, referral);
      await holder.query("ROLLBACK");

      const { status, body } = await answer;
      expect(body.errors, JSON.stringify(body.errors)).to.equal(undefined);
      expect({ status, data: body.data }).to.deep.equal({
        status: 200,
        data: { ignoreReferral: { id: referral, status: "IGNORED", version: 2 } },
      });
      expect(await stored(referral)).to.deep.equal({
        status: "IGNORED",
        version: 2,
        events: ["RECEIVE", "IGNORE"],
        emails: ["NEW_REFERRAL", "CHOOSE_ANOTHER_PARTNER"],
      });
    });

    it(`answers SERVICE_UNAVAILABLE (503, Retry-After) and changes nothing when a decision loses all ${DEADLOCK_ATTEMPTS} runs`, async function () {
      this.timeout(60_000);
      const referral = await newReferral(server.current, partner);
      const before = await stored(referral);
      const counter = (run: number) => (run % 2 === 1 ? "LEFT_NEW" : "DECIDED");
      let holder = await holdForDecision(counter(1));
      const answer = ignore(referral);
      await loseOnce(holder, referral);
      for (let run = 2; run <= DEADLOCK_ATTEMPTS; run++) {
        // The next run waits for the referral the last holder has; the next holder takes its lock meanwhile.
        const next = await holdForDecision(counter(run));
        await holder.query("ROLLBACK");
        holder = next;
        await loseOnce(holder, referral);
      }

      const { status, retryAfter, body } = await answer;
      await holder.query("ROLLBACK");
      expect({ status, retryAfter }).to.deep.equal({ status: 503, retryAfter: "1" });
      expect(body.errors?.map(({ message, extensions }) => [extensions?.code, message])).to.deep.equal([
        ["SERVICE_UNAVAILABLE", DATABASE_BUSY],
      ]);
      expect(await stored(referral)).to.deep.equal(before);
      expect(before).to.deep.include({ status: "NEW", version: 1 });
    });
  });

  it("answers a lock conflict that no transaction retried with SERVICE_UNAVAILABLE and HTTP 503, Retry-After", async function () {
    this.timeout(30_000);
    // A partner of its own: its endpoint must not receive the other tests' changes.
    const owner = await createPartner(server.current);
    const endpoint = await endpointFor(owner.api, "http://127.0.0.1:9/hooks");
    // A second server whose connections wait for a lock one second at most (its pool connects after this).
    await observer.query("SET GLOBAL innodb_lock_wait_timeout = 1");
    const impatient = await startTestServer();
    try {
      const holder = await transaction();
      await holder.query("SELECT id FROM webhook_endpoints WHERE id = ? FOR UPDATE", [endpoint.id]);
      // A single statement, outside any transaction that retries: it waits for the row, then times out.
      const response = await fetch(impatient.url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${owner.api.key}` },
        body: JSON.stringify({
          query: `mutation($id: ID!) { setWebhookEndpointEnabled(id: $id, enabled: true) { id } }`,
          variables: { id: endpoint.id },
        }),
      });
      const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
      expect({ status: response.status, retryAfter: response.headers.get("retry-after") }).to.deep.equal({ status: 503, retryAfter: "1" });
      expect(body.errors?.map(({ message, extensions }) => [extensions?.code, message])).to.deep.equal([
        ["SERVICE_UNAVAILABLE", DATABASE_BUSY],
      ]);
    } finally {
      await observer.query("SET GLOBAL innodb_lock_wait_timeout = DEFAULT");
      await impatient.stop();
    }
  });

  describe("the change sequencer", () => {
    it("holds no outbox-wide lock while its deliveries wait for a referral: another insert into the outbox goes on", async function () {
      this.timeout(60_000);
      const receiver = await new WebhookReceiver().start();
      try {
        const hooked = await createPartner(server.current);
        const endpoint = await endpointFor(hooked.api, receiver.url);
        const other = await newReferral(server.current, partner);
        await server.current.sequencer.settle();
        const holder = await transaction();
        let referral = "";
        await server.current.sequencer.holding(async () => {
          // Committed, and not yet placed in the feed: once let go, the sequencer writes its delivery.
          referral = await newReferral(server.current, hooked);
          await holder.query("SELECT id FROM referrals WHERE id = ? FOR UPDATE", [referral]);
        });
        await untilWaiting(
          observer,
          "the sequencer's deliveries wait for the referral (their foreign key)",
          ({ statement }) => statement.includes("background: change-feed") && statement.includes("outbox_messages"),
        );

        // Another writer of the outbox meanwhile (a reminder, a webhook-disabled notice): an insert of its own.
        const writer = await transaction();
        let answered = false;
        const written = writer
          .query(
            `INSERT INTO outbox_messages (channel, kind, dedupe_key, referral_id, recipient, locale, status, attempts, next_attempt_at, created_at)
             VALUES ('email', 'TEST', CONCAT('lock-test:', ?), ?, 'nobody@example.com', 'EN', 'PENDING', 0, NOW(3), NOW(3))`,
            [other, other],
          )
          .finally(() => (answered = true));
        const writerWaitsForOutbox = async () => (await waitingForLocks(observer)).some(({ thread }) => thread === writer.threadId);
        await eventually("the insert answers, or waits behind the sequencer's", async () => answered || (await writerWaitsForOutbox()));
        const waitedBehind = !answered;
        await holder.query("ROLLBACK");
        await written;
        await writer.query("ROLLBACK");
        expect(waitedBehind, "the other insert into the outbox waited for the sequencer's").to.equal(false);

        await server.current.sequencer.settle();
        const deliveries = await server.current.db.query(
          "SELECT CAST(referral_id AS CHAR) AS referralId, kind FROM outbox_messages WHERE endpoint_id = ?",
          [endpoint.id],
        );
        expect(deliveries).to.deep.equal([{ referralId: referral, kind: "REFERRAL_RECEIVED" }]);
        const [{ alerts }] = await server.current.db.query(
          "SELECT COUNT(*) AS alerts FROM outbox_messages WHERE referral_id = ? AND kind = 'NEW_REFERRAL'",
          [referral],
        );
        expect(Number(alerts), "the arrival's alert, derived by the same batch").to.equal(1);
      } finally {
        await receiver.stop();
      }
    });
  });
});
