// `npm run demo`: fills an empty database (DATABASE_URL) with partners, profiles in France and
// Germany, RFIs and referrals in every status, through the services the API uses (events, counters,
// fit scores and outgoing e-mails included), then prints keys to try. Refuses a database in use.
import "reflect-metadata";
import { FitScores } from "../analytics/fit-scores.js";
import { ApiKey } from "../auth/api-key.entity.js";
import type { Caller } from "../graphql/caller.js";
import { Role } from "../graphql/role.js";
import type { Config } from "../config/config.js";
import { DuplicateFinder } from "../rfis/duplicates.js";
import { Partner } from "../partners/partner.entity.js";
import { ReferralStatus } from "../referrals/lifecycle.js";
import { CommittedTransitions } from "../referrals/committed-transitions.js";
import { ReferralExpiry } from "../referrals/referral-expiry.js";
import { Referral } from "../referrals/referral.entity.js";
import { ReasonCode } from "../referrals/reason-code.js";
import { ReferralService } from "../referrals/referral.service.js";
import { CompanySize } from "../rfis/company-size.js";
import { Rfi } from "../rfis/rfi.entity.js";
import { RfiService } from "../rfis/rfi.service.js";
import type { SubmitRfiInput } from "../rfis/rfi.inputs.js";
import { inDays, PARTNERS, rfi } from "./demo-data.js";
import { openTools, runTool, toolLogger, UsageError, type AdminTools } from "./tool.js";

const print = (line = "") => process.stdout.write(`${line}\n`);

const ADMIN_CLI: Caller = { keyId: "0", label: "demo", role: Role.ADMIN, partnerId: null };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the database holds already, if anything: the demo only ever fills an empty one. */
async function contents({ db }: AdminTools): Promise<string | undefined> {
  const counts = {
    partners: await db.getRepository(Partner).count(),
    RFIs: await db.getRepository(Rfi).count(),
    // ADMIN_API_KEY's key, written at a server's start, is no content.
    "API keys": await db.getRepository(ApiKey).countBy({ fromEnvironment: false }),
  };
  const held = Object.entries(counts).filter(([, count]) => count > 0);
  return held.length === 0 ? undefined : held.map(([what, count]) => `${count} ${what}`).join(", ");
}

interface PrintedKey {
  role: Role;
  who: string;
  secret: string;
}

/** The services the demo plays its stories through, as the API would. */
interface Demo {
  referrals: ReferralService;
  rfis: RfiService;
  /** The same lifecycle with deadlines a millisecond away: the referrals meant to lapse (MISSED, EXPIRED). */
  lapsing: ReferralService;
  lapsingRfis: RfiService;
  intake: Caller;
}

/** An RFI sent to chosen partners: the id of the referral each of them got. */
async function submit(rfis: RfiService, intake: Caller, input: SubmitRfiInput): Promise<(key: Caller) => string> {
  const { referrals } = await rfis.submit(intake, input);
  return (key) => referrals.find((referral: Referral) => referral.partnerId === key.partnerId)!.id;
}

const estimate = (value: string) => ({ estimatedDealValue: value, currency: "EUR", estimatedCloseDate: inDays(60) });

/** Keys for the admin, the marketplace (INTAKE) and the analyst, printed at the end. */
async function issueKeys({ apiKeys }: AdminTools, keys: PrintedKey[]): Promise<Caller> {
  const issue = async (role: Role, label: string) => {
    const { key, secret } = await apiKeys.issue({ role, label });
    keys.push({ role, who: label, secret });
    return key;
  };
  await issue(Role.ADMIN, "demo admin");
  const intakeKey = await issue(Role.INTAKE, "demo marketplace");
  await issue(Role.ANALYST, "demo analyst");
  return { keyId: intakeKey.id, label: intakeKey.label, role: intakeKey.role, partnerId: null };
}

/** Partners, each with its profiles and its first key (the partner's actions are recorded under that key's label). */
async function createPartners({ apiKeys, partners }: AdminTools, keys: PrintedKey[]): Promise<Caller[]> {
  const partnerKeys: Caller[] = [];
  for (const { name, profiles } of PARTNERS) {
    const { partner, apiKey } = await partners.create(name);
    for (const profile of profiles) await partners.upsertProfile(ADMIN_CLI, partner.id, null, profile);
    keys.push({ role: Role.PARTNER, who: `${name} (partner ${partner.id})`, secret: apiKey });
    const [key] = (await apiKeys.list(false)).filter((candidate: ApiKey) => candidate.partnerId === partner.id);
    partnerKeys.push({ keyId: key.id, label: key.label, role: key.role, partnerId: partner.id });
  }
  return partnerKeys;
}

/** Deals that went somewhere: won, declined, negotiating with a CRM id, lost, passed. */
async function decidedStories({ referrals, rfis, intake }: Demo, [contoso, fabrikam, northwind]: Caller[]): Promise<void> {
  // Cloud ERP in France: Contoso wins it; Fabrikam is interested, then declines.
  const erp = await submit(
    rfis,
    intake,
    rfi(
      "erp",
      "FR",
      "Move our ERP to the cloud before the end of the year",
      "Brightwater Foods",
      CompanySize.SIZE_50_TO_249,
      ["cloud", "erp"],
      [contoso.partnerId!, fabrikam.partnerId!],
    ),
  );
  await referrals.expressInterest(contoso, erp(contoso));
  await referrals.accept(contoso, erp(contoso), estimate("120000.00"));
  await referrals.markWon(contoso, erp(contoso), { dealValue: "135000.00", closeDate: inDays(0) });
  await referrals.expressInterest(fabrikam, erp(fabrikam));
  await referrals.decline(fabrikam, erp(fabrikam), {
    reason: "No consultant free before next quarter",
    reasonCode: ReasonCode.NO_CAPACITY,
  });
  // A network in Germany: Northwind negotiates (its CRM id recorded); Contoso has not answered yet.
  const network = await submit(
    rfis,
    intake,
    rfi(
      "network",
      "DE",
      "Secure the network of our three Berlin sites",
      "Kessler Maschinenbau",
      CompanySize.SIZE_1000_TO_4999,
      ["security", "network"],
      [contoso.partnerId!, northwind.partnerId!],
    ),
  );
  await referrals.expressInterest(northwind, network(northwind));
  await referrals.accept(northwind, network(northwind), estimate("85000.00"));
  await referrals.setExternalReference(northwind, network(northwind), "CRM-0042");
  // A CRM in France: Fabrikam accepts and loses it; Northwind passes.
  const crm = await submit(
    rfis,
    intake,
    rfi(
      "crm",
      "FR",
      "A CRM for our twelve sales people",
      "Atelier Durand",
      CompanySize.SIZE_10_TO_49,
      ["crm"],
      [fabrikam.partnerId!, northwind.partnerId!],
    ),
  );
  await referrals.expressInterest(fabrikam, crm(fabrikam));
  await referrals.accept(fabrikam, crm(fabrikam), estimate("24000.00"));
  await referrals.markLost(fabrikam, crm(fabrikam), { reason: "The customer built it in house", reasonCode: ReasonCode.OTHER });
  await referrals.ignore(northwind, crm(northwind), { reason: "Too small for us", reasonCode: ReasonCode.NOT_A_FIT });
}

/** Referrals still open (being evaluated, NEW, routed by the server), and two whose deadlines passed. */
async function openAndLapsedStories(demo: Demo, [contoso, fabrikam, northwind]: Caller[]): Promise<void> {
  const { referrals, rfis, lapsing, lapsingRfis, intake } = demo;
  // Being evaluated: a data platform in Germany (Northwind), a migration in France (Contoso).
  const data = await submit(
    rfis,
    intake,
    rfi(
      "data",
      "DE",
      "A data platform for our plants' sensors",
      "Vogel Logistik",
      CompanySize.SIZE_5000_PLUS,
      ["data", "cloud"],
      [northwind.partnerId!],
    ),
  );
  await referrals.expressInterest(northwind, data(northwind));
  const migration = await submit(
    rfis,
    intake,
    rfi(
      "migration",
      "FR",
      "Migrate 40 servers to the cloud",
      "Lumière Textiles",
      CompanySize.SIZE_250_TO_999,
      ["cloud", "migration"],
      [contoso.partnerId!],
    ),
  );
  await referrals.expressInterest(contoso, migration(contoso));
  // Routed by the server itself (best-matching profiles in France), still NEW.
  await rfis.submit(
    intake,
    rfi("routed", "FR", "Help choosing an ERP for our new factory", "Moulin & Fils", CompanySize.SIZE_50_TO_249, ["erp", "manufacturing"]),
  );
  // Deadlines that passed: Fabrikam never answered (MISSED); Contoso was interested, then silent (EXPIRED).
  await lapsingRfis.submit(
    intake,
    rfi("missed", "FR", "Replace our accounting software", "Boulangerie Petit", CompanySize.SIZE_10_TO_49, ["erp"], [fabrikam.partnerId!]),
  );
  const late = await submit(
    rfis,
    intake,
    rfi(
      "expired",
      "DE",
      "Backups for our offices",
      "Schmidt Partner",
      CompanySize.SIZE_50_TO_249,
      ["cloud", "security"],
      [contoso.partnerId!],
    ),
  );
  await lapsing.expressInterest(contoso, late(contoso));
}

async function fill(tools: AdminTools, config: Config): Promise<PrintedKey[]> {
  const { db } = tools;
  const transitions = new CommittedTransitions(tools.logger);
  // As the server does: fit scores follow each change (the rest of its consumers are the server's own loops).
  const fitScores = new FitScores(db, tools.logger);
  transitions.listen((committed) => fitScores.refresh(committed));
  const referrals = new ReferralService(db, config, transitions);
  const lapsing = new ReferralService(db, { newReferralResponseWindowMs: 1, evaluationWindowMs: 1 }, transitions);
  const keys: PrintedKey[] = [];
  const intake = await issueKeys(tools, keys);
  const partnerKeys = await createPartners(tools, keys);
  const duplicates = new DuplicateFinder(db, config.duplicateWindowMs);
  const demo = {
    referrals,
    rfis: new RfiService(db, referrals, duplicates),
    lapsing,
    lapsingRfis: new RfiService(db, lapsing, duplicates),
    intake,
  };
  await decidedStories(demo, partnerKeys);
  await openAndLapsedStories(demo, partnerKeys);
  await sleep(20);
  await new ReferralExpiry(db, config, transitions).expireDue(new Date());
  await fitScores.settled();
  return keys;
}

async function main(config: () => Config): Promise<void> {
  if (process.argv.slice(2).some((arg) => arg === "--help" || arg === "-h")) {
    print("Usage: npm run demo   (DATABASE_URL names the database, which must be empty or missing)");
    print("Fills it with partners, profiles, RFIs and referrals in every status, and prints keys to try.");
    return;
  }
  if (process.argv.length > 2)
    throw new UsageError(`takes no arguments (got ${process.argv.slice(2).join(" ")}); DATABASE_URL names the database`);
  const settings = config();
  const tools = await openTools(settings, toolLogger());
  try {
    const held = await contents(tools);
    const { database } = settings.database;
    if (held) {
      throw new UsageError(
        `database ${database} is not empty (${held}): the demo only fills an empty one; try DATABASE_URL=mysql://…/${database}_demo`,
      );
    }
    const keys = await fill(tools, settings);
    const counts: { status: ReferralStatus; count: string }[] = await tools.db
      .getRepository(Referral)
      .createQueryBuilder("r")
      .select("r.status", "status")
      .addSelect("COUNT(*)", "count")
      .groupBy("r.status")
      .getRawMany();
    const byStatus = new Map(counts.map(({ status, count }) => [status, Number(count)]));
    const total = [...byStatus.values()].reduce((sum, count) => sum + count, 0);
    print(
      `Demo data in database ${database}: ${PARTNERS.length} partners, ${PARTNERS.flatMap((partner) => partner.profiles).length} marketing profiles (FR, DE), ${await tools.db.getRepository(Rfi).count()} RFIs, ${total} referrals:`,
    );
    print(
      `  ${Object.values(ReferralStatus)
        .map((status) => `${status} ${byStatus.get(status) ?? 0}`)
        .join(", ")}`,
    );
    print();
    print("Keys to try (shown once; only their hashes are stored):");
    const width = Math.max(...keys.map((key) => key.who.length));
    for (const key of keys) print(`  ${key.role.padEnd(8)} ${key.who.padEnd(width)}  ${key.secret}`);
    const partnerKey = keys.find((key) => key.role === Role.PARTNER)!;
    const query =
      "{ me { label partner { name } } referrals(first: 10) { totalCount edges { node { id status respondBy overview { need region } } } } }";
    print();
    print(`Start the server (npm start), then, as ${partnerKey.who}:`);
    print(
      `  curl -s http://localhost:${settings.port || 4000}/graphql -H 'Authorization: Bearer ${partnerKey.secret}' -H 'Content-Type: application/json' -d '${JSON.stringify({ query })}'`,
    );
  } finally {
    await tools.close();
  }
}

await runTool("demo", main);
