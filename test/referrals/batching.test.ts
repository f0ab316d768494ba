import { expect } from "chai";
import type { DataSource } from "typeorm";
import { createDataSource, ensureDatabase } from "../../src/db/data-source.js";
import { testDatabase, truncateAll } from "../support/database.js";
import { addProfile, createPartner, uniqueName, type TestPartner } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/harness.js";
import { StatementRecorder } from "../support/statements.js";
import { ENTITIES } from "../../src/app/entities.js";

const PARTNERS = 25;
const REFERRALS = 120;
const SEEDED_ACTIONS = ["EXPRESS_INTEREST", "RECEIVE", "SET_EXTERNAL_REFERENCE"];

const PAGE = `query($first: Int!) {
  referrals(first: $first, orderBy: { field: RECEIVED_AT, direction: ASC }) {
    edges {
      node {
        id
        partner { id name profiles { id } }
        profile { id region }
        overview { need }
        customer { companyName }
        events { action }
      }
    }
  }
}`;

interface PageNode {
  id: string;
  partner: { id: string; name: string; profiles: { id: string }[] };
  profile: { id: string; region: string };
  overview: { need: string };
  customer: { companyName: string };
  events: { action: string }[];
}

describe("referrals > batching (no N+1)", () => {
  const recorder = new StatementRecorder();
  let db: DataSource;
  let server: TestServer;
  const partners: (TestPartner & { profileIds: string[] })[] = [];

  before(async function () {
    this.timeout(60_000);
    // The server runs on a data source of the test's own, whose logger sees every statement.
    await ensureDatabase(testDatabase);
    db = createDataSource(testDatabase, ENTITIES, { logger: recorder });
    await db.initialize();
    await db.runMigrations({ transaction: "each" });
    await truncateAll(db);
    // The sweep and the reminders run at start, then not again while pages are counted.
    server = await startTestServer({ EXPIRY_SWEEP_EVERY: "1h" }, { db });

    for (let p = 0; p < PARTNERS; p++) {
      const partner = await createPartner(server, uniqueName("Batched"), { region: "FR", location: "Paris" });
      const second = await addProfile(server, partner.id, { region: "DE", location: "Berlin" });
      partners.push({ ...partner, profileIds: [partner.profileId, second] });
    }
    // Many referrals, each its own RFI, spread over every partner and both of its profiles, with an audit trail.
    const start = Date.UTC(2025, 0, 1);
    await db.query(
      `INSERT INTO rfis (need, company_size, region, keywords, customer_company_name, customer_contact_name, customer_email, submitted_at)
       VALUES ${Array.from({ length: REFERRALS }, () => "(?, 'SIZE_10_TO_49', 'FR', '[]', ?, 'Ann Lee', 'ann@example.com', ?)").join(", ")}`,
      Array.from({ length: REFERRALS }, (_, i) => [`Need ${i}`, `Customer ${i}`, new Date(start + i * 60_000)]).flat(),
    );
    const rfis: { id: unknown; need: string }[] = await db.query("SELECT id, need FROM rfis");
    const rfiOf = new Map(rfis.map((rfi) => [rfi.need, String(rfi.id)]));
    await db.query(
      `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, status, version, received_at, updated_at)
       VALUES ${Array.from({ length: REFERRALS }, () => "(?, ?, ?, 'FR', 'SIZE_10_TO_49', 'EVALUATING', 1, ?, ?)").join(", ")}`,
      Array.from({ length: REFERRALS }, (_, i) => {
        const partner = partners[i % PARTNERS];
        const at = new Date(start + i * 60_000);
        return [rfiOf.get(`Need ${i}`), partner.id, partner.profileIds[Math.floor(i / PARTNERS) % 2], at, at];
      }).flat(),
    );
    await db.query(
      `INSERT INTO referral_events (referral_id, partner_id, version, action, at, from_status, to_status, actor, feed_batch)
       SELECT r.id, r.partner_id, 1, a.action, r.received_at, NULL, 'NEW', 'seed', 0 FROM referrals r
       CROSS JOIN (SELECT 'RECEIVE' AS action UNION ALL SELECT 'SET_EXTERNAL_REFERENCE' UNION ALL SELECT 'EXPRESS_INTEREST') a`,
    );
    // History placed before the feed began (batch 0, as the change feed's migration placed existing events):
    // nothing is derived from it, so no e-mail is composed while pages are counted.
    await server.sequencer.settle();
  });

  after(async () => {
    await server?.stop();
    await db?.destroy();
  });

  /** Fetches a page with an ADMIN key (so it spans every partner), returning its nodes and the statements it cost. */
  async function fetchPage(first: number): Promise<{ nodes: PageNode[]; statements: string[] }> {
    // The key is checked once, then remembered for a few seconds: only the page is counted.
    await server.admin.data(`{ me { role } }`);
    let nodes: PageNode[] = [];
    const statements = await recorder.during(async () => {
      const { referrals } = await server.admin.data(PAGE, { first });
      nodes = referrals.edges.map((edge: { node: PageNode }) => edge.node);
    });
    return { nodes, statements };
  }

  /**
   * What is counted: every statement the server's data source sends from the moment the request leaves
   * the client until its response is in. The fixed set is: the page (with each referral's RFI and
   * partner joined: overview, customer and partner come with it), then one batched query per
   * relation: the partners' profiles, the referrals' profiles, events.
   */
  const EXPECTED_STATEMENTS = 4;
  const EXPECTED_TABLES = ["marketing_profiles", "marketing_profiles", "referral_events", "referrals"];

  /** The table each statement reads first, sorted (loaders of one tick may run in either order). */
  function tablesOf(statements: string[]): string[] {
    return statements.map((statement) => /\bFROM `?(\w+)`?/.exec(statement)?.[1] ?? statement).sort();
  }

  it(`costs ${EXPECTED_STATEMENTS} statements for a page of 100 referrals with partner, profiles, profile, overview, customer and events`, async () => {
    const { nodes, statements } = await fetchPage(100);
    expect(nodes).to.have.length(100);
    const partnerIds = new Set(nodes.map((node) => node.partner.id));
    expect(partnerIds.size).to.equal(PARTNERS);
    expect(new Set(nodes.map((node) => node.profile.id)).size).to.equal(PARTNERS * 2);
    for (const node of nodes) {
      const partner = partners.find((candidate) => candidate.id === node.partner.id)!;
      expect(node.partner.name).to.equal(partner.name);
      expect(node.partner.profiles.map((profile) => profile.id)).to.deep.equal(partner.profileIds);
      expect(partner.profileIds).to.include(node.profile.id);
      expect(node.customer.companyName).to.equal(node.overview.need.replace("Need", "Customer"));
      expect(node.events.map((event) => event.action).sort()).to.deep.equal(SEEDED_ACTIONS);
    }
    expect(statements, statements.join("\n")).to.have.length(EXPECTED_STATEMENTS);
    expect(tablesOf(statements)).to.deep.equal(EXPECTED_TABLES);
  });

  it("costs the same number of statements for a page of 10 as for a page of 100", async () => {
    const small = await fetchPage(10);
    const large = await fetchPage(100);
    expect(small.nodes).to.have.length(10);
    expect(small.statements, small.statements.join("\n")).to.have.length(EXPECTED_STATEMENTS);
    expect(large.statements, large.statements.join("\n")).to.have.length(EXPECTED_STATEMENTS);
    expect(tablesOf(small.statements)).to.deep.equal(EXPECTED_TABLES);
  });
});
