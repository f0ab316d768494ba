// The hand-written baseline of bench/list-throughput.ts: express and a mysql2 pool, no GraphQL, no ORM.
// It checks the API key as the server does (SHA-256, one lookup) and answers the benchmark's two
// pages with exactly the JSON the server gives (the benchmark checks that before timing).
// Run by the benchmark as a child process: DATABASE, PORT.
import express from "express";
import mysql from "mysql2/promise";
import { baselineKey } from "./support.js";

const pool = mysql.createPool({
  host: "127.0.0.1",
  port: 3306,
  user: "root",
  database: process.env.DATABASE,
  connectionLimit: 20,
  timezone: "Z",
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: ["DATE"],
});

const HIDDEN_CUSTOMER = new Set(["NEW", "IGNORED", "MISSED"]);
const iso = (date: Date | null) => (date === null ? null : date.toISOString());
const cursorOf = (receivedAt: Date, id: string) =>
  Buffer.from(JSON.stringify(["RECEIVED_AT", "DESC", receivedAt.toISOString(), id])).toString("base64url");

const app = express();
app.use(express.json());
app.post("/graphql", async (req, res) => {
  const key = await baselineKey(pool, req, res, "PARTNER");
  if (!key) return;
  const partnerId = key.partnerId as string;
  const first = Number(req.body.variables?.first ?? 20);
  const rich = String(req.body.query).includes("events");
  const [[rows], [[{ total }]]] = await Promise.all([
    pool.query<mysql.RowDataPacket[]>(
      `SELECT r.id, r.status, r.received_at, r.respond_by, f.need, f.region, f.company_size, f.keywords, p.id AS partner_id, p.name,
              f.customer_company_name, f.customer_contact_name, f.customer_email, f.customer_phone
       FROM referrals r JOIN rfis f ON f.id = r.rfi_id JOIN partners p ON p.id = r.partner_id
       WHERE r.partner_id = ? ORDER BY r.received_at DESC, r.id DESC LIMIT ?`,
      [partnerId, first + 1],
    ),
    pool.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS total FROM referrals WHERE partner_id = ?", [partnerId]),
  ]);
  const page = rows.slice(0, first);
  const events = new Map<string, unknown[]>(page.map((row) => [row.id, []]));
  if (rich && page.length > 0) {
    const [eventRows] = await pool.query<mysql.RowDataPacket[]>(
      "SELECT referral_id, action, at, from_status, to_status, actor, note FROM referral_events WHERE referral_id IN (?) ORDER BY id",
      [page.map((row) => row.id)],
    );
    for (const event of eventRows) {
      events.get(event.referral_id)!.push({
        action: event.action,
        at: iso(event.at),
        from: event.from_status,
        to: event.to_status,
        actor: event.actor,
        note: event.note,
      });
    }
  }
  const edges = page.map((row) => {
    const node: Record<string, unknown> = {
      id: row.id,
      status: row.status,
      receivedAt: iso(row.received_at),
      respondBy: iso(row.respond_by),
      overview: { need: row.need, region: row.region, companySize: row.company_size, keywords: JSON.parse(row.keywords) },
      partner: { id: row.partner_id, name: row.name },
    };
    if (rich) {
      node.customer = HIDDEN_CUSTOMER.has(row.status)
        ? null
        : {
            companyName: row.customer_company_name,
            contactName: row.customer_contact_name,
            email: row.customer_email,
            phone: row.customer_phone,
          };
      node.events = events.get(row.id);
    }
    return { cursor: cursorOf(row.received_at, row.id), node };
  });
  res.json({
    data: {
      referrals: {
        totalCount: Number(total),
        edges,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
      },
    },
  });
});

const server = app.listen(Number(process.env.PORT), () => process.send?.("listening"));
process.on("SIGTERM", () => server.close(() => void pool.end()));
