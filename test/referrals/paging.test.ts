import { expect } from "chai";
import type { GraphQLClient } from "../support/client.js";
import { addProfile, createPartner, submitRfi, uniqueName, type TestPartner } from "../support/fixtures.js";
import { useTestServer, type TestServer } from "../support/harness.js";
import { random } from "../support/random.js";

const TOTAL = 250;
const HOUR = 3600_000;
const BASE = Date.UTC(2025, 5, 2, 8, 0, 0, 123);

const STATUSES = ["NEW", "EVALUATING", "NEGOTIATING", "WON", "LOST", "IGNORED", "MISSED", "DECLINED", "EXPIRED"] as const;
type Status = (typeof STATUSES)[number];
const STAGE_OF: Record<Status, string> = {
  NEW: "NEW",
  EVALUATING: "EVALUATING",
  NEGOTIATING: "NEGOTIATING",
  WON: "ARCHIVED",
  LOST: "ARCHIVED",
  IGNORED: "ARCHIVED",
  MISSED: "ARCHIVED",
  DECLINED: "ARCHIVED",
  EXPIRED: "ARCHIVED",
};

/** Few distinct values per sort field, so that most rows tie with many others; null = empty. */
const RECEIVED = [0, 1, 2, 3].map((h) => new Date(BASE + h * HOUR));
const UPDATED = [5, 6, 7].map((h) => new Date(BASE + h * HOUR));
const RESPOND_BY = [null, ...[80, 90, 100].map((h) => new Date(BASE + h * HOUR))];
const DEAL_VALUES = [null, "1500.00", "1500.50", "99999999.99"];
const CLOSE_DATES = [null, "2026-01-31", "2026-03-15", "2027-12-01"];
const FIT_SCORES = [null, "0.2500", "0.7500", "1.0000"];

interface Row {
  id: string;
  partnerId: string;
  region: string;
  status: Status;
  receivedAt: Date;
  updatedAt: Date;
  respondBy: Date | null;
  estimatedDealValue: string | null;
  estimatedCloseDate: string | null;
  fitScore: string | null;
}

type Field = "RECEIVED_AT" | "UPDATED_AT" | "RESPOND_BY" | "ESTIMATED_DEAL_VALUE" | "ESTIMATED_CLOSE_DATE" | "FIT_SCORE";
type Direction = "ASC" | "DESC";
const FIELDS: Field[] = ["RECEIVED_AT", "UPDATED_AT", "RESPOND_BY", "ESTIMATED_DEAL_VALUE", "ESTIMATED_CLOSE_DATE", "FIT_SCORE"];

/** The value a row sorts on, in a form that compares correctly with < (null = empty). */
const SORT_VALUE: Record<Field, (row: Row) => number | string | null> = {
  RECEIVED_AT: (row) => row.receivedAt.getTime(),
  UPDATED_AT: (row) => row.updatedAt.getTime(),
  RESPOND_BY: (row) => row.respondBy?.getTime() ?? null,
  ESTIMATED_DEAL_VALUE: (row) => (row.estimatedDealValue === null ? null : Math.round(Number(row.estimatedDealValue) * 100)),
  ESTIMATED_CLOSE_DATE: (row) => row.estimatedCloseDate,
  FIT_SCORE: (row) => (row.fitScore === null ? null : Math.round(Number(row.fitScore) * 10_000)),
};

/** The order the contract promises: by the field, then id, both in the direction; empty values last either way. */
function referenceOrder(rows: Row[], field: Field, direction: Direction): string[] {
  const sign = direction === "ASC" ? 1 : -1;
  const sortValue = SORT_VALUE[field];
  return [...rows]
    .sort((a, b) => {
      const [x, y] = [sortValue(a), sortValue(b)];
      if (x === null && y !== null) return 1;
      if (y === null && x !== null) return -1;
      const byValue = x === y ? 0 : x! < y! ? -1 : 1;
      return sign * (byValue || Number(BigInt(a.id) - BigInt(b.id)));
    })
    .map((row) => row.id);
}

const NODE = `id status overview { region } receivedAt updatedAt respondBy estimatedDealValue { amount currency } estimatedCloseDate fitScore partner { id }`;
const PAGE = `query($filter: ReferralFilter, $orderBy: ReferralOrder, $first: Int, $after: String) {
  referrals(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { ${NODE} } }
  }
}`;

interface Node {
  id: string;
  status: string;
  overview: { region: string };
  receivedAt: string;
  updatedAt: string;
  respondBy: string | null;
  estimatedDealValue: { amount: string; currency: string } | null;
  estimatedCloseDate: string | null;
  fitScore: number | null;
  partner: { id: string };
}

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: Node }[];
}

interface PageArgs {
  filter?: Record<string, unknown>;
  orderBy?: { field: Field; direction: Direction };
  first?: number;
  after?: string | null;
}

async function page(client: GraphQLClient, args: PageArgs): Promise<Page> {
  const { referrals } = await client.data<{ referrals: Page }>(PAGE, args as Record<string, unknown>);
  return referrals;
}

/**
 * Follows endCursor from the first page to the last, checking each page's size, count and flags on the
 * way; returns every node in the order served.
 */
async function walk(client: GraphQLClient, args: PageArgs & { first: number }, expectedTotal: number): Promise<Node[]> {
  const nodes: Node[] = [];
  let after: string | null = null;
  for (let pages = 0; pages <= expectedTotal + 1; pages++) {
    const current = await page(client, { ...args, after });
    const remaining = expectedTotal - nodes.length;
    expect(current.totalCount, "totalCount").to.equal(expectedTotal);
    expect(current.edges, `page ${pages + 1}`).to.have.length(Math.min(args.first, remaining));
    expect(current.pageInfo.hasNextPage, `hasNextPage of page ${pages + 1}`).to.equal(remaining > args.first);
    expect(current.pageInfo.endCursor).to.equal(current.edges.at(-1)?.cursor ?? null);
    nodes.push(...current.edges.map((edge) => edge.node));
    if (!current.pageInfo.hasNextPage) return nodes;
    after = current.pageInfo.endCursor;
  }
  throw new Error("paging did not end");
}

/** A row as the API must serve it. */
function served(row: Row): Node {
  return {
    id: row.id,
    status: row.status,
    overview: { region: row.region },
    receivedAt: row.receivedAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    respondBy: row.respondBy?.toISOString() ?? null,
    estimatedDealValue: row.estimatedDealValue === null ? null : { amount: row.estimatedDealValue, currency: "EUR" },
    estimatedCloseDate: row.estimatedCloseDate,
    fitScore: row.fitScore === null ? null : Number(row.fitScore),
    partner: { id: row.partnerId },
  };
}

/** Inserts one RFI and one referral per row, straight into the tables; returns the rows with their ids. */
async function seed(server: TestServer, alpha: TestPartner, alphaDe: string, beta: TestPartner): Promise<Row[]> {
  const pick = random(20251125);
  const marker = uniqueName("paging");
  const specs = Array.from({ length: TOTAL }, (_, i) => {
    const partner = i % 3 === 0 ? beta : alpha;
    const inDe = partner === alpha && pick(4) === 0;
    return {
      need: `${marker} #${i}`,
      partnerId: partner.id,
      profileId: inDe ? alphaDe : partner.profileId,
      region: inDe ? "DE" : "FR",
      status: STATUSES[pick(STATUSES.length)],
      receivedAt: RECEIVED[pick(RECEIVED.length)],
      updatedAt: UPDATED[pick(UPDATED.length)],
      respondBy: RESPOND_BY[pick(RESPOND_BY.length)],
      estimatedDealValue: DEAL_VALUES[pick(DEAL_VALUES.length)],
      estimatedCloseDate: CLOSE_DATES[pick(CLOSE_DATES.length)],
      fitScore: FIT_SCORES[pick(FIT_SCORES.length)],
    };
  });
  await server.db.query(
    `INSERT INTO rfis (need, company_size, industry, region, keywords, customer_company_name, customer_contact_name,
       customer_email, customer_phone, submitted_at, submitted_by_key_id)
     VALUES ${specs.map(() => "(?, 'SIZE_50_TO_249', NULL, ?, '[\"cloud\"]', 'Fabrikam', 'Ann Lee', 'ann@fabrikam.example', NULL, ?, NULL)").join(", ")}`,
    specs.flatMap((spec) => [spec.need, spec.region, spec.receivedAt]),
  );
  const rfis: { id: unknown; need: string }[] = await server.db.query("SELECT id, need FROM rfis WHERE need LIKE ?", [`${marker} #%`]);
  const rfiIds = new Map(rfis.map((rfi) => [rfi.need, String(rfi.id)]));
  await server.db.query(
    `INSERT INTO referrals (rfi_id, partner_id, profile_id, region, company_size, status, version, received_at, updated_at, respond_by,
       estimated_deal_value, estimated_currency, estimated_close_date, fit_score)
     VALUES ${specs.map(() => "(?, ?, ?, ?, 'SIZE_50_TO_249', ?, 1, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`,
    specs.flatMap((spec) => [
      rfiIds.get(spec.need),
      spec.partnerId,
      spec.profileId,
      spec.region,
      spec.status,
      spec.receivedAt,
      spec.updatedAt,
      spec.respondBy,
      spec.estimatedDealValue,
      spec.estimatedDealValue === null ? null : "EUR",
      spec.estimatedCloseDate,
      spec.fitScore,
    ]),
  );
  const referrals: { id: unknown; rfi_id: unknown }[] = await server.db.query("SELECT id, rfi_id FROM referrals");
  const referralIds = new Map(referrals.map((referral) => [String(referral.rfi_id), String(referral.id)]));
  const rows = specs.map(({ need, profileId: _profileId, ...spec }) => ({ ...spec, id: referralIds.get(rfiIds.get(need)!)! }));
  expect(new Set(rows.map((row) => row.id)).size).to.equal(TOTAL);
  return rows;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("referrals > paging and filters", () => {
  const server = useTestServer();
  let alpha: TestPartner;
  let beta: TestPartner;
  let rows: Row[];

  before(async () => {
    alpha = await createPartner(server.current, uniqueName("Paging alpha"), { region: "FR" });
    const alphaDe = await addProfile(server.current, alpha.id, { region: "DE", location: "Berlin" });
    beta = await createPartner(server.current, uniqueName("Paging beta"), { region: "FR" });
    rows = await seed(server.current, alpha, alphaDe, beta);
  });

  it("seeds ties and empty values in every sort field (the premise of the paging tests)", () => {
    for (const field of FIELDS) {
      const values = rows.map(SORT_VALUE[field]);
      const distinct = new Set(values.filter((value) => value !== null));
      expect(distinct.size, field).to.be.within(3, 4);
      if (field !== "RECEIVED_AT" && field !== "UPDATED_AT") expect(values.filter((value) => value === null).length, field).to.be.above(30);
    }
  });

  const SMALL_PAGES = [7, 9, 11, 13, 16, 19, 23, 31, 47, 64, 17, 29];
  FIELDS.forEach((field, f) => {
    (["ASC", "DESC"] as const).forEach((direction, d) => {
      const sizes = [SMALL_PAGES[f * 2 + d], 100];
      it(`serves all ${TOTAL} referrals exactly once by ${field} ${direction}, then id, empty last (pages of ${sizes.join(" and ")})`, async () => {
        const expected = referenceOrder(rows, field, direction);
        const byId = new Map(rows.map((row) => [row.id, row]));
        for (const first of sizes) {
          const nodes = await walk(server.current.admin, { orderBy: { field, direction }, first }, TOTAL);
          expect(
            nodes.map((node) => node.id),
            `pages of ${first}`,
          ).to.deep.equal(expected);
          expect(nodes).to.deep.equal(expected.map((id) => served(byId.get(id)!)));
        }
      });
    });
  });

  it("orders by RECEIVED_AT DESC in pages of 20 when no order or size is given", async () => {
    const first = await page(server.current.admin, {});
    expect(first.edges.map((edge) => edge.node.id)).to.deep.equal(referenceOrder(rows, "RECEIVED_AT", "DESC").slice(0, 20));
    expect(first.pageInfo.hasNextPage).to.equal(true);
  });

  it("caps first at 100", async () => {
    for (const first of [101, 1000]) {
      const capped = await page(server.current.admin, { orderBy: { field: "UPDATED_AT", direction: "ASC" }, first });
      expect(capped.edges.map((edge) => edge.node.id)).to.deep.equal(referenceOrder(rows, "UPDATED_AT", "ASC").slice(0, 100));
      expect(capped.pageInfo.hasNextPage).to.equal(true);
      expect(capped.totalCount).to.equal(TOTAL);
    }
  });

  it("still counts every matching referral on a page past the last one, which has no row to carry the count", async () => {
    const orderBy = { field: "UPDATED_AT", direction: "ASC" } as const;
    let current = await page(server.current.admin, { orderBy, first: 100 });
    while (current.pageInfo.hasNextPage)
      current = await page(server.current.admin, { orderBy, first: 100, after: current.pageInfo.endCursor });
    const beyond = await page(server.current.admin, { orderBy, first: 100, after: current.pageInfo.endCursor });
    expect(beyond.edges).to.deep.equal([]);
    expect(beyond.totalCount).to.equal(TOTAL);
  });

  it("refuses a negative first with BAD_USER_INPUT", async () => {
    const refused = await server.current.admin.error(PAGE, { first: -1 });
    expect(refused).to.include({ code: "BAD_USER_INPUT", message: "first: must not be negative" });
  });

  it("refuses a cursor given for another order with BAD_USER_INPUT", async () => {
    const { pageInfo } = await page(server.current.admin, { orderBy: { field: "RECEIVED_AT", direction: "ASC" }, first: 10 });
    for (const orderBy of [
      { field: "RECEIVED_AT", direction: "DESC" },
      { field: "UPDATED_AT", direction: "ASC" },
      { field: "ESTIMATED_DEAL_VALUE", direction: "ASC" },
    ]) {
      const refused = await server.current.admin.error(PAGE, { orderBy, first: 10, after: pageInfo.endCursor });
      expect(refused.code, JSON.stringify(orderBy)).to.equal("BAD_USER_INPUT");
      expect(refused.message).to.match(/^after: /);
    }
    // The default order is RECEIVED_AT DESC: an ASC cursor does not fit it either.
    expect((await server.current.admin.error(PAGE, { after: pageInfo.endCursor })).code).to.equal("BAD_USER_INPUT");
  });

  it("refuses a cursor it never gave out with BAD_USER_INPUT", async () => {
    const id = rows[0].id;
    const garbage: [Field, string][] = [
      ["RECEIVED_AT", "garbage"],
      ["RECEIVED_AT", "%%%"],
      ["RECEIVED_AT", base64url({ field: "RECEIVED_AT" })],
      ["RECEIVED_AT", base64url(["RECEIVED_AT", "ASC", "2025-06-02T08:00:00.123Z"])],
      ["RECEIVED_AT", base64url(["RECEIVED_AT", "ASC", "not a time", id])],
      ["RECEIVED_AT", base64url(["RECEIVED_AT", "ASC", "2025-06-02T08:00:00.123Z", "1 OR 1=1"])],
      ["RECEIVED_AT", base64url(["RECEIVED_AT", "ASC", 42, id])],
      ["ESTIMATED_DEAL_VALUE", base64url(["ESTIMATED_DEAL_VALUE", "ASC", "1e3", id])],
      ["ESTIMATED_CLOSE_DATE", base64url(["ESTIMATED_CLOSE_DATE", "ASC", "tomorrow", id])],
    ];
    for (const [field, after] of garbage) {
      const { data, errors } = await server.current.admin.request(PAGE, { orderBy: { field, direction: "ASC" }, after });
      expect(data, after).to.equal(null);
      expect(
        errors?.map((error) => [error.extensions?.code, error.message.startsWith("after: ")]),
        after,
      ).to.deep.equal([["BAD_USER_INPUT", true]]);
    }
  });

  describe("filters", () => {
    /** Every referral the filter matches, in RECEIVED_AT ASC order, paged; checked against the reference. */
    async function expectFilter(filter: Record<string, unknown>, matches: (row: Row) => boolean, client?: GraphQLClient) {
      const expected = referenceOrder(rows.filter(matches), "RECEIVED_AT", "ASC");
      const nodes = await walk(
        client ?? server.current.admin,
        { filter, orderBy: { field: "RECEIVED_AT", direction: "ASC" }, first: 40 },
        expected.length,
      );
      expect(nodes.map((node) => node.id)).to.deep.equal(expected);
      return expected.length;
    }

    it("statuses: only referrals in one of the given statuses", async () => {
      expect(await expectFilter({ statuses: ["NEW", "WON"] }, (row) => row.status === "NEW" || row.status === "WON")).to.be.above(20);
      expect(await expectFilter({ statuses: ["EXPIRED"] }, (row) => row.status === "EXPIRED")).to.be.above(5);
    });

    for (const stage of ["NEW", "EVALUATING", "NEGOTIATING", "ARCHIVED"]) {
      it(`stage ${stage}: only referrals whose status belongs to that tab`, async () => {
        expect(await expectFilter({ stage }, (row) => STAGE_OF[row.status] === stage)).to.be.above(10);
      });
    }

    it("stage with statuses: only the given statuses of that stage", async () => {
      const wonOrLost = (row: Row) => row.status === "WON" || row.status === "LOST";
      expect(await expectFilter({ stage: "ARCHIVED", statuses: ["WON", "NEW", "LOST"] }, wonOrLost)).to.be.above(10);
      expect(await expectFilter({ stage: "NEGOTIATING", statuses: ["NEW", "WON"] }, () => false)).to.equal(0);
    });

    it("region: only referrals of RFIs in that country", async () => {
      expect(await expectFilter({ region: "DE" }, (row) => row.region === "DE")).to.be.above(20);
      expect(await expectFilter({ region: "FR" }, (row) => row.region === "FR")).to.be.above(100);
      expect(await expectFilter({ region: "IT" }, () => false)).to.equal(0);
    });

    it("receivedAfter (at or after) and receivedBefore (strictly before), alone and together", async () => {
      const [, second, third] = RECEIVED;
      const at = (row: Row) => row.receivedAt.getTime();
      await expectFilter({ receivedAfter: second.toISOString() }, (row) => at(row) >= second.getTime());
      await expectFilter({ receivedBefore: third.toISOString() }, (row) => at(row) < third.getTime());
      const between = await expectFilter(
        { receivedAfter: second.toISOString(), receivedBefore: third.toISOString() },
        (row) => at(row) === second.getTime(),
      );
      expect(between).to.be.above(20);
      const justAfter = new Date(second.getTime() + 1).toISOString();
      await expectFilter({ receivedAfter: justAfter, receivedBefore: third.toISOString() }, () => false);
    });

    it("updatedAfter: only referrals changed at or after the instant", async () => {
      const [, second] = UPDATED;
      expect(await expectFilter({ updatedAfter: second.toISOString() }, (row) => row.updatedAt >= second)).to.be.above(100);
      await expectFilter({ updatedAfter: new Date(second.getTime() + 1).toISOString() }, (row) => row.updatedAt > second);
    });

    it("partnerId: an ADMIN key sees only that partner's referrals", async () => {
      expect(await expectFilter({ partnerId: beta.id }, (row) => row.partnerId === beta.id)).to.equal(Math.ceil(TOTAL / 3));
      expect(await expectFilter({ partnerId: alpha.id }, (row) => row.partnerId === alpha.id)).to.equal(TOTAL - Math.ceil(TOTAL / 3));
      await expectFilter({ partnerId: "987654321" }, () => false);
    });

    it("partnerId: a PARTNER key stays within its own partner whatever it asks", async () => {
      await expectFilter({}, (row) => row.partnerId === alpha.id, alpha.api);
      await expectFilter({ partnerId: alpha.id, region: "DE" }, (row) => row.partnerId === alpha.id && row.region === "DE", alpha.api);
      await expectFilter({ partnerId: beta.id }, () => false, alpha.api);
    });

    it("combines every filter, and pages the result in any order", async () => {
      const filter = {
        partnerId: alpha.id,
        region: "FR",
        stage: "ARCHIVED",
        statuses: ["WON", "LOST", "IGNORED", "MISSED"],
        receivedAfter: RECEIVED[1].toISOString(),
        receivedBefore: RECEIVED[3].toISOString(),
        updatedAfter: UPDATED[1].toISOString(),
      };
      const matches = (row: Row) =>
        row.partnerId === alpha.id &&
        row.region === "FR" &&
        ["WON", "LOST", "IGNORED", "MISSED"].includes(row.status) &&
        row.receivedAt >= RECEIVED[1] &&
        row.receivedAt < RECEIVED[3] &&
        row.updatedAt >= UPDATED[1];
      const expected = rows.filter(matches);
      expect(expected.length).to.be.above(5);
      for (const direction of ["ASC", "DESC"] as const) {
        const nodes = await walk(
          server.current.admin,
          { filter, orderBy: { field: "ESTIMATED_DEAL_VALUE", direction }, first: 3 },
          expected.length,
        );
        expect(nodes.map((node) => node.id)).to.deep.equal(referenceOrder(expected, "ESTIMATED_DEAL_VALUE", direction));
      }
    });
  });
});

describe("referrals > incremental sync with updatedAfter", () => {
  const server = useTestServer();

  const SYNC = `query($since: DateTime!) {
    referrals(filter: { updatedAfter: $since }, orderBy: { field: UPDATED_AT, direction: ASC }, first: 100) {
      totalCount edges { node { id updatedAt } }
    }
  }`;

  async function changedSince(client: GraphQLClient, since: Date | string): Promise<string[]> {
    const { referrals } = await client.data(SYNC, { since: typeof since === "string" ? since : since.toISOString() });
    expect(referrals.totalCount).to.equal(referrals.edges.length);
    return referrals.edges.map((edge: { node: { id: string } }) => edge.node.id);
  }

  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

  it("returns a referral changed after the instant the client last synced, and nothing changed before", async () => {
    const partner = await createPartner(server.current, uniqueName("Syncing"));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await submitRfi(server.current.admin, { partnerIds: [partner.id] })).referralIds[0]);
    const [first, second, third] = ids;
    await server.current.db.query("UPDATE referrals SET updated_at = ? WHERE id IN (?)", [new Date(Date.now() - HOUR), ids]);

    const beforeInterest = new Date();
    expect(await changedSince(partner.api, beforeInterest)).to.deep.equal([]);
    const { expressInterest } = await partner.api.data(`mutation($id: ID!) { expressInterest(id: $id) { updatedAt } }`, { id: second });
    expect(await changedSince(partner.api, beforeInterest)).to.deep.equal([second]);
    // The bound is inclusive: syncing from the last change seen returns it again rather than risk a miss.
    expect(await changedSince(partner.api, expressInterest.updatedAt)).to.deep.equal([second]);

    await tick();
    const beforeMore = new Date();
    await partner.api.data(`mutation($id: ID!) { ignoreReferral(id: $id) { id } }`, { id: third });
    await tick();
    await partner.api.data(`mutation($id: ID!) { setExternalReference(id: $id, externalReferenceId: "CRM-7") { id } }`, { id: first });
    expect(await changedSince(partner.api, beforeMore)).to.deep.equal([third, first]);
    expect(await changedSince(partner.api, beforeInterest)).to.deep.equal([second, third, first]);
    expect(await changedSince(server.current.admin, beforeMore)).to.deep.equal([third, first]);
  });
});
