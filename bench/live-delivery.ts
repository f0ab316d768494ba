// How long from a committed change to the subscriber's socket? A real server (MariaDB, in-process
// pub/sub) with N graphql-ws subscribers to referralUpdated; a partner changes a referral ROUNDS
// times. Delivery time = receipt on the client minus the referral's updatedAt (taken in the
// transaction, a few ms before its commit). Baseline, in the same process: the same message text
// broadcast over plain `ws` sockets to N clients, send → receipt.
// Usage: npm run bench:live [-- <subscribers ...>]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createClient } from "graphql-ws";
import WebSocket, { WebSocketServer } from "ws";
import { startServer } from "../src/app/server.js";
import { GraphQLClient } from "../test/support/client.js";
import { dropDatabase, freshConfig, percentiles, purgeNamespace, table } from "./support.js";

const COUNTS = process.argv.slice(2).map(Number).filter(Boolean);
const ROUNDS = 20;
const DATABASE = "partner_referrals_bench";
const UPDATED = `subscription { referralUpdated { id status version updatedAt externalReferenceId partner { name } events { action actor } } }`;

async function graphqlDelivery(subscribers: number): Promise<{ times: number[]; message: string }> {
  const adminKey = randomBytes(32).toString("base64url");
  const server = await startServer(await freshConfig(DATABASE, adminKey));
  const admin = new GraphQLClient(server.url, adminKey);
  const { createPartner } = await admin.data(`mutation { createPartner(input: { name: "Bench" }) { partner { id } apiKey } }`);
  const partner = new GraphQLClient(server.url, createPartner.apiKey);
  await admin.data(
    `mutation($id: ID!) { upsertMarketingProfile(partnerId: $id, input: { region: "FR", location: "Paris",
       contactEmail: "bench@partner.example", keywords: ["cloud"], preferredCompanySizes: [] }) { id } }`,
    { id: createPartner.partner.id },
  );
  const { submitRfi } = await admin.data(
    `mutation { submitRfi(input: { customer: { companyName: "Fabrikam", contactName: "Ann", email: "ann@fabrikam.example" },
       need: "Bench", companySize: SIZE_1_TO_9, region: "FR", partnerIds: ["${createPartner.partner.id}"] }) { referrals { id } } }`,
  );
  const referralId = submitRfi.referrals[0].id;

  const times: number[] = [];
  let message = "";
  let arrived = 0;
  let roundDone: () => void = () => undefined;
  const clients = Array.from({ length: subscribers }, () =>
    createClient({
      url: server.url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${createPartner.apiKey}` },
      retryAttempts: 0,
    }),
  );
  for (const client of clients) {
    client.subscribe<{ referralUpdated: { updatedAt: string } }>(
      { query: UPDATED },
      {
        next: (result) => {
          times.push(Date.now() - new Date(result.data!.referralUpdated.updatedAt).getTime());
          message = JSON.stringify({ id: "1", type: "next", payload: result });
          if (++arrived === subscribers) roundDone();
        },
        error: (error) => console.error(error),
        complete: () => undefined,
      },
    );
  }
  while (server.services.fanOut.activeSubscriptions < subscribers) await new Promise((resolve) => setTimeout(resolve, 50));

  for (let round = 0; round < ROUNDS; round++) {
    arrived = 0;
    const done = new Promise<void>((resolve) => (roundDone = resolve));
    await partner.data(`mutation($id: ID!, $ref: String) { setExternalReference(id: $id, externalReferenceId: $ref) { id } }`, {
      id: referralId,
      ref: `CRM-${round}`,
    });
    await done;
  }
  await Promise.all(clients.map((client) => client.dispose()));
  await server.stop();
  await dropDatabase(DATABASE);
  await purgeNamespace(DATABASE);
  return { times, message };
}

/** The same payloads broadcast over plain ws sockets: what the transport alone costs. */
async function wsBaseline(subscribers: number, message: string): Promise<number[]> {
  const wss = new WebSocketServer({ port: 0 });
  await once(wss, "listening");
  const { port } = wss.address() as { port: number };
  const times: number[] = [];
  let arrived = 0;
  let roundDone: () => void = () => undefined;
  const sockets = await Promise.all(
    Array.from({ length: subscribers }, async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`);
      socket.on("message", (data) => {
        times.push(Date.now() - Number(JSON.parse(data.toString()).sentAt));
        if (++arrived === subscribers) roundDone();
      });
      await once(socket, "open");
      return socket;
    }),
  );
  for (let round = 0; round < ROUNDS; round++) {
    arrived = 0;
    const done = new Promise<void>((resolve) => (roundDone = resolve));
    const text = JSON.stringify({ sentAt: Date.now(), message });
    for (const client of wss.clients) client.send(text);
    await done;
  }
  for (const socket of sockets) socket.close();
  wss.close();
  return times;
}

const rows: (string | number)[][] = [];
for (const subscribers of COUNTS.length > 0 ? COUNTS : [1, 1000]) {
  const graphql = await graphqlDelivery(subscribers);
  const baseline = percentiles(await wsBaseline(subscribers, graphql.message));
  const ours = percentiles(graphql.times);
  const ratio = (a: number, b: number) => `${(a / Math.max(b, 1)).toFixed(1)}×`;
  rows.push([`${subscribers} subscriber(s), commit → client`, graphql.times.length, ours.p50, ours.p95, ours.max]);
  rows.push([`${subscribers} plain ws sockets, send → client (baseline)`, subscribers * ROUNDS, baseline.p50, baseline.p95, baseline.max]);
  rows.push(["ratio", "", ratio(ours.p50, baseline.p50), ratio(ours.p95, baseline.p95), ratio(ours.max, baseline.max)]);
}
console.log(table(["", "deliveries", "p50 ms", "p95 ms", "max ms"], rows));
process.exit(0);
