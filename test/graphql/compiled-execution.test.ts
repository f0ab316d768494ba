import { expect } from "chai";
import type { GraphQLClient, GraphQLResponse } from "../support/client.js";
import { createPartner, issueKey, referralIn, type TestPartner } from "../support/fixtures.js";
import { useTestServer } from "../support/harness.js";

/*
 * A query seen often runs through graphql-jit's compiled plan (src/graphql/compiled-execution.ts).
 * Each row sends one document twice: the first answer comes from graphql-js, the second from the
 * compiled plan (or from graphql-js again when the request fails before execution), and both must be
 * the same to the byte: data, errors, their paths and codes, and the HTTP status.
 */

const PAGE = `query($first: Int!, $withCustomer: Boolean!) {
  referrals(first: $first) {
    totalCount
    edges { cursor node { ...card customer @include(if: $withCustomer) { companyName email } } }
    pageInfo { hasNextPage endCursor }
  }
}
fragment card on Referral {
  __typename id status stage version receivedAt respondBy archived
  overview { need region companySize keywords }
  partner { id name responsiveness { decided } }
  estimatedDealValue { amount currency }
  events { action at from to actor note }
}`;

interface Row {
  sends: string;
  as: "partner" | "analyst" | "admin";
  query: string;
  variables?: Record<string, unknown>;
  /** The second answer comes from the compiled plan (else from graphql-js: the request failed before execution). */
  compiled: boolean;
}

const ROWS: Row[] = [
  {
    sends: "a page of referrals with fragments, aliases and @include",
    as: "partner",
    query: PAGE,
    variables: { first: 10, withCustomer: true },
    compiled: true,
  },
  { sends: "the same page without the customer", as: "partner", query: PAGE, variables: { first: 3, withCustomer: false }, compiled: true },
  {
    sends: "an analyst's page (the customer is refused field by field)",
    as: "analyst",
    query: PAGE,
    variables: { first: 5, withCustomer: true },
    compiled: true,
  },
  {
    sends: "a non-null root field the key may not read (FORBIDDEN, data null)",
    as: "partner",
    query: "{ apiKeys { id } }",
    compiled: true,
  },
  { sends: "a readable field beside a forbidden one", as: "partner", query: "{ me { role label } partners { id } }", compiled: true },
  {
    sends: "an unknown referral id beside one that is not a row id",
    as: "partner",
    query: `{ a: referral(id: "999999999") { id } b: referral(id: "x") { id } }`,
    compiled: true,
  },
  {
    sends: "a negative page size (BAD_USER_INPUT from the resolver)",
    as: "partner",
    query: "{ referrals(first: -1) { totalCount } }",
    compiled: true,
  },
  {
    sends: "a variable of the wrong type (400 before execution)",
    as: "partner",
    query: PAGE,
    variables: { first: "ten", withCustomer: true },
    compiled: false,
  },
  { sends: "a missing non-null variable", as: "partner", query: PAGE, variables: { first: 2 }, compiled: false },
  {
    sends: "statistics grouped by region",
    as: "admin",
    query: "{ dealSizeStats(groupBy: [REGION, STATUS]) { key { dimension value } currency count total median max } }",
    compiled: true,
  },
];

describe("graphql > compiled execution", () => {
  const server = useTestServer();
  let partner: TestPartner;
  let analyst: GraphQLClient;

  before(async function () {
    this.timeout(60_000);
    partner = await createPartner(server.current);
    for (const status of ["NEW", "EVALUATING", "NEGOTIATING", "WON", "IGNORED"]) await referralIn(server.current, partner, status);
    analyst = await issueKey(server.current, "ANALYST");
  });

  const executions = async () => {
    const { values } = await server.current.services.metrics.executions.get();
    const of = (path: string) => values.find((value) => value.labels.path === path)?.value ?? 0;
    return { compiled: of("compiled"), interpreted: of("interpreted") };
  };

  for (const row of ROWS) {
    it(`answers ${row.sends} the same compiled as interpreted`, async () => {
      const client = row.as === "partner" ? partner.api : row.as === "analyst" ? analyst : server.current.admin;
      // A query text no other row has sent, so that its first sighting is this row's.
      const query = `${row.query}\n# ${row.sends}`;
      const before = await executions();
      const first: GraphQLResponse<unknown> = await client.request(query, row.variables);
      const afterFirst = await executions();
      const second: GraphQLResponse<unknown> = await client.request(query, row.variables);
      const afterSecond = await executions();

      expect(afterFirst.interpreted - before.interpreted, "the first sighting is interpreted").to.equal(1);
      expect(afterFirst.compiled - before.compiled).to.equal(0);
      expect(afterSecond.compiled - afterFirst.compiled, "the second sighting ran compiled").to.equal(row.compiled ? 1 : 0);
      expect(JSON.stringify(second)).to.equal(JSON.stringify(first));
    });
  }

  it("keeps the first answer's errors meaningful (the rows above are not all successes)", async () => {
    const forbidden = await partner.api.request("{ apiKeys { id } }\n# forbidden twice");
    const again = await partner.api.request("{ apiKeys { id } }\n# forbidden twice");
    expect(again.data).to.equal(null);
    expect(again.errors?.map((error) => [error.extensions?.code, error.path])).to.deep.equal([["FORBIDDEN", ["apiKeys"]]]);
    expect(again).to.deep.equal(forbidden);
  });

  it("runs mutations through graphql-js every time", async () => {
    const before = await executions();
    for (let i = 0; i < 3; i++)
      await partner.api.request(`mutation { setExternalReference(id: "999999999", externalReferenceId: "x") { id } }`);
    const after = await executions();
    expect(after.compiled - before.compiled).to.equal(0);
    expect(after.interpreted - before.interpreted).to.equal(3);
  });
});
