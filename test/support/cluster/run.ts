import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { dropTestDatabase } from "../database.js";
import { feedEvents, type Check, type Evidence } from "./checks.js";
import { emailsSent, heldByKilled, noCrash, noDuplicates, webhooksDelivered } from "./delivery-checks.js";
import { backlog, decisionsSettled, followersCaughtUp, outboxSettled } from "./drain.js";
import { FaultLog, runFaults, type ScheduledFault } from "./faults.js";
import {
  adminFeedIsEventTable,
  expiredOnce,
  idempotencyKept,
  integratorsGotTheirFeed,
  requestsAnswered,
  socketsGotTheirFeed,
  submissionsAnswered,
} from "./feed-checks.js";
import { post, roundRobin, sleep, Tally, type Answer, type Gateway } from "./gateway.js";
import { instanceEnv, startInstances, type Instance, type Timings } from "./instances.js";
import { Load, type LoadSettings } from "./load.js";
import { populate } from "./population.js";
import { Integrator, ListReaders, type ListRead } from "./reads.js";
import { startBackingServices, stopBackingServices } from "./services.js";
import { openSockets } from "./sockets.js";

/** A balancer in front of the instances (the benchmark's nginx). */
export interface Balancer {
  gateway: Gateway;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  partners: number;
  socketsPerPartner: number;
  load: LoadSettings;
  listReadsPerSecond: number;
  pollEveryMs: number;
  timings: Timings;
  loadMs: number;
  schedule(instances: readonly Instance[]): ScheduledFault[];
  /** The run's own database, dropped first. */
  database: string;
  /** Without one, clients take the instances in turn. */
  balancer?: (instances: readonly Instance[]) => Promise<Balancer>;
  /** A run shorter than the outbox lease cannot wait for what a killed instance held: those are excused (and reported). */
  excuseHeld: boolean;
  /** How long the run waits after the load for the deadlines, then for the outbox. */
  deadlinesDrainMs: number;
  outboxDrainMs: number;
  logDir: string;
  progress?: (line: string) => void;
}

export interface MemorySample {
  at: number;
  instance: string;
  rss: number;
}

export interface ClusterRun {
  checks: Check[];
  /** How long the messages killed instances held waited. */
  held: string[];
  /** What did not settle within the drain. */
  unsettled: string[];
  instances: Instance[];
  reads: ListRead[];
  memory: MemorySample[];
  faults: FaultLog;
  loadStartedAt: number;
  loadEndedAt: number;
}

const MAIL_DOMAIN = "localhost";
const FEED = `query($after: String) { referralChanges(first: 500, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor } } }`;

/** The whole feed, with the ADMIN key, from the start. */
async function readWholeFeed(gateway: Gateway, adminKey: string): Promise<string[]> {
  const cursors: string[] = [];
  let after: string | null = null;
  for (let failures = 0; ; ) {
    const answer: Answer<Record<string, any>> = await post(gateway, adminKey, FEED, { after });
    if (!answer.data) {
      if (++failures > 20) throw new Error(`could not read the feed: ${answer.code} ${answer.message}`);
      await sleep(500);
      continue;
    }
    const { edges, pageInfo } = answer.data.referralChanges as {
      edges: { cursor: string }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    cursors.push(...edges.map((edge) => edge.cursor));
    if (!pageInfo.hasNextPage) return cursors;
    after = pageInfo.endCursor;
  }
}

/**
 * A cluster run: backing services, instances (behind the balancer if any), partners, sockets, CRMs,
 * dashboards and the load, the faults on their schedule; then the drain and every check. Everything
 * it started is stopped, whatever happens.
 */
export async function runCluster(options: ClusterOptions): Promise<ClusterRun> {
  const say = options.progress ?? (() => undefined);
  const adminKey = randomBytes(32).toString("base64url");
  await dropTestDatabase(options.database);
  const services = await startBackingServices(options.partners);
  const db = mysql.createPool({
    host: "127.0.0.1",
    port: 3306,
    user: "root",
    database: options.database,
    timezone: "Z",
    connectionLimit: 4,
  });
  const stops: (() => Promise<unknown>)[] = [() => stopBackingServices(services), () => db.end()];
  try {
    const env = instanceEnv(services, options.database, adminKey, options.timings);
    const instances = await startInstances(options.instances, env, options.logDir);
    stops.unshift(() => Promise.all(instances.map((instance) => instance.stop())));
    say(`${instances.length} instances serving: ${instances.map((i) => `${i.name} :${i.port}`).join(", ")}; logs in ${options.logDir}`);
    const balancer = options.balancer ? await options.balancer(instances) : undefined;
    if (balancer) stops.unshift(() => balancer.stop());
    const gateway = balancer?.gateway ?? roundRobin(instances);

    const population = await populate(gateway, adminKey, services.receivers);
    const tally = new Tally();
    const sockets = openSockets(population.partners, options.socketsPerPartner, gateway);
    stops.unshift(() => Promise.all(sockets.map((socket) => socket.stop())));
    const subscribed = async () => (await Promise.all(instances.map((i) => i.subscriptions()))).reduce((a, b) => a + b, 0);
    const want = sockets.length;
    for (let waited = 0; (await subscribed()) < want; waited += 100) {
      if (waited > 60_000) throw new Error(`only ${await subscribed()} of ${want} sockets subscribed within 60 s`);
      await sleep(100);
    }
    const integrators = population.partners.map((partner) => new Integrator(partner, gateway, tally, options.pollEveryMs));
    const readers = new ListReaders(population.partners, gateway, tally, options.listReadsPerSecond);
    for (const integrator of integrators) integrator.start();
    readers.start();
    const memory: MemorySample[] = [];
    const sampling = setInterval(() => {
      for (const instance of instances) {
        const rss = instance.rss();
        if (rss !== undefined) memory.push({ at: Date.now(), instance: instance.name, rss });
      }
    }, 5000);
    stops.unshift(async () => clearInterval(sampling));

    const faults = new FaultLog();
    const load = new Load(gateway, population, options.load, tally, adminKey.slice(0, 8));
    const loadStartedAt = Date.now();
    say(`${sockets.length} sockets subscribed; load starts (${options.load.rfisPerSecond} RFIs/s for ${options.loadMs / 1000} s)`);
    const submitting = load.run();
    const faulting = runFaults(options.schedule(instances), { instances, services, db, log: faults }, loadStartedAt);
    const progress = setInterval(async () => {
      const reconnections = sockets.reduce((n, socket) => n + socket.seams.length, 0);
      say(
        `[${Math.round((Date.now() - loadStartedAt) / 1000)} s] submitRfi: ${tally.describe("submitRfi")}; ${reconnections} socket reconnections; ${readers.reads.length} list reads; ${await backlog(db)}; RSS ${instances.map((i) => `${Math.round((i.rss() ?? 0) / 1e6)}`).join("/")} MB; last fault: ${faults.steps.at(-1)?.what ?? "none"}`,
      );
    }, 30_000);
    stops.unshift(async () => clearInterval(progress));
    await sleep(options.loadMs);
    load.stop();
    const loadEndedAt = Date.now();
    await submitting;
    say("load stopped; waiting for the faults to end, the decisions, the deadlines, the outbox and the followers");
    await faulting;
    await load.decided();
    const unsettled: string[] = [];
    if (!(await decisionsSettled(db, options.deadlinesDrainMs))) unsettled.push("referrals still open or changes unplaced");
    if (!(await outboxSettled(db, faults.kills, options.excuseHeld, options.outboxDrainMs))) unsettled.push("outbox still pending");
    if (!(await followersCaughtUp(db, sockets, integrators, 30_000))) unsettled.push("sockets or integrators behind");
    clearInterval(progress);
    await readers.stop();
    await Promise.all(integrators.map((integrator) => integrator.stop()));
    await Promise.all(sockets.map((socket) => socket.stop()));
    clearInterval(sampling);

    const adminFeed = await readWholeFeed(gateway, adminKey);
    const events = await feedEvents(db);
    const evidence: Evidence = {
      db,
      partners: population.partners,
      submissions: load.submissions,
      tally,
      sockets,
      integrators,
      adminFeed,
      smtp: services.smtp,
      faults,
      instances,
      excuseHeld: options.excuseHeld,
      mailDomain: MAIL_DOMAIN,
      windows: options.timings,
      loadStartedAt,
    };
    const checks = [
      submissionsAnswered(evidence),
      await idempotencyKept(evidence),
      requestsAnswered(evidence),
      await adminFeedIsEventTable(evidence, events),
      integratorsGotTheirFeed(evidence, events),
      socketsGotTheirFeed(evidence, events),
      await webhooksDelivered(evidence, events),
      await emailsSent(evidence),
      noDuplicates(evidence),
      await expiredOnce(evidence),
      noCrash(evidence),
    ];
    const held = await heldByKilled(evidence);
    return { checks, held, unsettled, instances, reads: readers.reads, memory, faults, loadStartedAt, loadEndedAt };
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
  }
}
