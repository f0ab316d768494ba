import type mysql from "mysql2/promise";
import { retryable } from "./gateway.js";
import { compareSequences, describeDiff, groupBy, sample, type Check, type Evidence, type FeedEvent } from "./checks.js";
import type { FeedSocket } from "./sockets.js";

/** Every submitRfi got an answer, success or retryable, and in the end a success. */
/** `from–to s` after the load started, for a set of instants. */
function during(instants: number[], loadStartedAt: number): string {
  const seconds = (at: number) => Math.round((at - loadStartedAt) / 1000);
  return `${seconds(Math.min(...instants))}–${seconds(Math.max(...instants))} s`;
}

export function submissionsAnswered({ submissions, tally, loadStartedAt }: Evidence): Check {
  const answers = submissions.flatMap((submission) => submission.answers);
  const wrong = answers.filter((answer) => answer.code !== undefined && !retryable(answer.code));
  const unanswered = submissions.filter((submission) => submission.rfiIds.size === 0);
  return {
    name: "every submitRfi answered with success or a retryable error",
    pass: wrong.length === 0 && unanswered.length === 0,
    detail: [
      `${submissions.length} RFIs submitted (${submissions.filter((s) => s.doubled).length} sent twice at once); answers: ${tally.describe("submitRfi")}`,
      ...(unanswered.length > 0 ? [`${unanswered.length} never succeeded: ${sample(unanswered.map((s) => s.idempotencyKey))}`] : []),
      ...[...groupBy(wrong, (answer) => answer.code!)].map(
        ([code, some]) =>
          `${some.length} × ${code} (not retryable) at ${during(
            some.map((answer) => answer.at),
            loadStartedAt,
          )} of the load, e.g. "${some[0].message?.slice(0, 160)}"`,
      ),
    ],
  };
}

/** No idempotency key made two RFIs: every success for a key named the same RFI, and the table has at most one per key. */
export async function idempotencyKept({ submissions, db }: Evidence): Promise<Check> {
  const split = submissions.filter((submission) => submission.rfiIds.size > 1);
  const [twice] = await db.query<mysql.RowDataPacket[]>("SELECT need, COUNT(*) AS n FROM rfis GROUP BY need HAVING COUNT(*) > 1");
  const [[{ rfis }]] = await db.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS rfis FROM rfis");
  const succeeded = submissions.filter((submission) => submission.rfiIds.size > 0).length;
  return {
    name: "no idempotency key made two RFIs",
    pass: split.length === 0 && twice.length === 0,
    detail: [
      `${Number(rfis)} RFIs in the table for ${submissions.length} keys, ${succeeded} of them answered with success` +
        (Number(rfis) > succeeded ? ` (${Number(rfis) - succeeded} created for keys whose client never got a success)` : ""),
      ...(split.length > 0 ? [`${split.length} keys answered with different RFIs: ${sample(split.map((s) => s.idempotencyKey))}`] : []),
      ...(twice.length > 0 ? [`${twice.length} keys have several RFIs: ${sample(twice.map((row) => `${row.need} ×${row.n}`))}`] : []),
    ],
  };
}

/** The other requests (decisions, list reads, polling) got success, a retryable error, or INVALID_TRANSITION for a decision a deadline beat. */
export function requestsAnswered({ tally }: Evidence): Check {
  const wrong: string[] = [];
  const lines: string[] = [];
  for (const operation of tally.operations().filter((name) => name !== "submitRfi")) {
    lines.push(`${operation}: ${tally.describe(operation)}`);
    for (const [code, count] of tally.of(operation)) {
      const allowed =
        code === "ok" || retryable(code) || (code === "INVALID_TRANSITION" && !["referrals", "referralChanges"].includes(operation));
      if (!allowed) wrong.push(`${operation} ${code} ×${count}`);
    }
  }
  return {
    name: "decisions, list reads and feed polls answered with success or a retryable error",
    pass: wrong.length === 0,
    detail: [...lines, ...(wrong.length > 0 ? [`unexpected: ${wrong.join(", ")}`] : [])],
  };
}

/** The ADMIN feed read from the start is the event table in (feed_batch, id) order, every event placed, none twice. */
export async function adminFeedIsEventTable({ adminFeed, db }: Evidence, events: readonly FeedEvent[]): Promise<Check> {
  const [[{ unplaced }]] = await db.query<mysql.RowDataPacket[]>(
    "SELECT COUNT(*) AS unplaced FROM referral_events WHERE feed_batch IS NULL",
  );
  const expectedFeed = events.map((event) => event.cursor);
  const diff = compareSequences(adminFeed, expectedFeed);
  return {
    name: "the feed read from the start equals the event table, in order, no repeats",
    pass: diff === undefined && Number(unplaced) === 0,
    detail: [
      `${adminFeed.length} changes read with the ADMIN key, ${events.length} events placed, ${Number(unplaced)} not placed`,
      ...(diff ? [describeDiff(diff, adminFeed, expectedFeed)] : []),
    ],
  };
}

/** Each CRM's polled changes are its partner's feed. */
export function integratorsGotTheirFeed({ integrators }: Evidence, events: readonly FeedEvent[]): Check {
  const byPartner = groupBy(events, (event) => event.partnerId);
  const wrong = integrators.flatMap((integrator) => {
    const expected = (byPartner.get(integrator.partner.id) ?? []).map((event) => event.cursor);
    const diff = compareSequences(integrator.cursors, expected);
    return diff ? [`partner ${integrator.partner.index + 1}: ${describeDiff(diff, integrator.cursors, expected)}`] : [];
  });
  return {
    name: "each integrator's referralChanges equal its partner's feed",
    pass: wrong.length === 0,
    detail: [
      `${integrators.length} integrators, ${integrators.reduce((n, i) => n + i.cursors.length, 0)} changes polled`,
      ...wrong.slice(0, 5),
    ],
  };
}

/** Where a difference of a socket falls: at a reconnection (a seam) or in the middle of a connection. */
function atSeam(socket: FeedSocket, index: number): boolean {
  return socket.seams.some((seam) => Math.abs(seam.received - index) <= 1);
}

/** Each socket's cursors, joined across its reconnections, equal its partner's feed: no gap, no repeat at a seam. */
export function socketsGotTheirFeed({ sockets, loadStartedAt }: Evidence, events: readonly FeedEvent[]): Check {
  const byPartner = groupBy(events, (event) => event.partnerId);
  const wrong: string[] = [];
  let gapsAtSeams = 0;
  let repeatsAtSeams = 0;
  for (const [n, socket] of sockets.entries()) {
    // A socket dropped before its first change had no cursor to resume from: it started live again, and
    // is judged from the first change it got (what came before is outside what `after` can promise).
    const feed = (byPartner.get(socket.partner.id) ?? []).map((event) => event.cursor);
    const expected =
      socket.resumedWithoutCursor && socket.cursors.length > 0 ? feed.slice(Math.max(0, feed.indexOf(socket.cursors[0]))) : feed;
    const diff = compareSequences(socket.cursors, expected);
    if (socket.errors.length > 0) wrong.push(`socket ${n + 1}: errors ${sample(socket.errors, 2)}`);
    if (!diff) continue;
    repeatsAtSeams += diff.repeats.filter((index) => atSeam(socket, index)).length;
    if (diff.missing.length > 0 && atSeam(socket, diff.firstDifference)) gapsAtSeams++;
    wrong.push(
      `socket ${n + 1} (partner ${socket.partner.index + 1}, ${socket.seams.length} reconnections${
        socket.seams.length > 0 ? ` at #${sample(socket.seams.map((seam) => seam.received))}` : ""
      }): ${describeDiff(diff, socket.cursors, expected)}`,
    );
  }
  const reconnections = sockets.reduce((sum, socket) => sum + socket.seams.length, 0);
  const why = [
    ...groupBy(
      sockets.flatMap((socket) => socket.seams),
      (seam) => seam.why,
    ),
  ].map(
    ([reason, seams]) =>
      `${reason} ×${seams.length} at ${during(
        seams.map((seam) => seam.at),
        loadStartedAt,
      )}`,
  );
  return {
    name: "each socket's cursors, joined across reconnections, equal its partner's feed",
    pass: wrong.length === 0,
    detail: [
      `${sockets.length} sockets, ${reconnections} reconnections (${why.join(", ") || "none"}), ${sockets.reduce((n, s) => n + s.cursors.length, 0)} changes received`,
      ...(wrong.length > 0
        ? [`${wrong.length} sockets differ (${gapsAtSeams} with a gap at a seam, ${repeatsAtSeams} repeats at a seam)`]
        : []),
      ...wrong.slice(0, 5),
    ],
  };
}

/** Every referral past its deadline expired once: one MISS or EXPIRE event each, none left open past its deadline. */
export async function expiredOnce({ db, windows }: Evidence): Promise<Check> {
  const [twice] = await db.query<mysql.RowDataPacket[]>(
    `SELECT referral_id, COUNT(*) AS n FROM referral_events WHERE action IN ('MISS', 'EXPIRE') GROUP BY referral_id HAVING COUNT(*) > 1`,
  );
  const [unmatched] = await db.query<mysql.RowDataPacket[]>(
    `SELECT r.id, r.status, COUNT(e.id) AS n FROM referrals r
       LEFT JOIN referral_events e ON e.referral_id = r.id AND e.action = IF(r.status = 'MISSED', 'MISS', 'EXPIRE')
     WHERE r.status IN ('MISSED', 'EXPIRED') GROUP BY r.id, r.status HAVING COUNT(e.id) <> 1`,
  );
  const [overdue] = await db.query<mysql.RowDataPacket[]>(
    `SELECT id, status, respond_by FROM referrals WHERE status IN ('NEW', 'EVALUATING') AND respond_by < NOW(3) - INTERVAL 2 SECOND`,
  );
  const [counts] = await db.query<mysql.RowDataPacket[]>("SELECT status, COUNT(*) AS n FROM referrals GROUP BY status ORDER BY status");
  const [[lateness]] = await db.query<mysql.RowDataPacket[]>(
    `SELECT MAX(IF(e.action = 'MISS', TIMESTAMPDIFF(MICROSECOND, r.received_at, e.at) / 1000 - ?,
                   TIMESTAMPDIFF(MICROSECOND, r.interested_at, e.at) / 1000 - ?)) AS latest
     FROM referral_events e JOIN referrals r ON r.id = e.referral_id WHERE e.action IN ('MISS', 'EXPIRE')`,
    [windows.newWindowMs, windows.evaluationWindowMs],
  );
  return {
    name: "every overdue referral expired exactly once",
    pass: twice.length === 0 && unmatched.length === 0 && overdue.length === 0,
    detail: [
      `referrals: ${counts.map((row) => `${row.status} ${row.n}`).join(", ")}`,
      `latest expiry: ${lateness.latest === null ? "none" : `${(Number(lateness.latest) / 1000).toFixed(1)} s after its deadline`}`,
      ...(twice.length > 0
        ? [`${twice.length} expired more than once: ${sample(twice.map((row) => `${row.referral_id} ×${row.n}`))}`]
        : []),
      ...(unmatched.length > 0
        ? [`${unmatched.length} archived by a deadline without exactly one event: ${sample(unmatched.map((row) => row.id))}`]
        : []),
      ...(overdue.length > 0
        ? [`${overdue.length} still open past their deadline: ${sample(overdue.map((row) => `${row.id} ${row.status}`))}`]
        : []),
    ],
  };
}
