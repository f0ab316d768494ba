import {
  type ReferralAction,
  type ReferralStage,
  type ReferralStatus,
  stageOf,
  statusesWithDeadline,
} from "../../../src/referrals/lifecycle.js";
import { graphql } from "./graphql.js";

/** A referral as the dashboard shows it: everything on its card, its customer and its timeline. */
export interface Referral {
  id: string;
  status: ReferralStatus;
  stage: ReferralStage;
  version: number;
  receivedAt: string;
  updatedAt: string;
  respondBy: string | null;
  reason: string | null;
  externalReferenceId: string | null;
  estimatedCloseDate: string | null;
  finalCloseDate: string | null;
  estimatedDealValue: Money | null;
  finalDealValue: Money | null;
  overview: { need: string; companySize: string; industry: string | null; region: string; keywords: string[] };
  customer: { companyName: string; contactName: string; email: string; phone: string | null } | null;
  fitScore: number | null;
  fitReasons: string[];
  events: ReferralEvent[];
}

export interface Money {
  amount: string;
  currency: string;
}

export interface ReferralEvent {
  action: ReferralAction;
  at: string;
  from: ReferralStatus | null;
  to: ReferralStatus;
  actor: string;
  note: string | null;
}

export const REFERRAL_FIELDS = `
  fragment ReferralFields on Referral {
    id status stage version receivedAt updatedAt respondBy reason externalReferenceId
    estimatedCloseDate finalCloseDate
    estimatedDealValue { amount currency }
    finalDealValue { amount currency }
    overview { need companySize industry region keywords }
    customer { companyName contactName email phone }
    fitScore fitReasons
    events { action at from to actor note }
  }`;

export interface Page {
  referrals: Referral[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export type StageCounts = Record<ReferralStage, number>;

export const PAGE_SIZE = 25;

const COUNTS = `
  new: referrals(filter: { stage: NEW }, first: 1) { totalCount }
  evaluating: referrals(filter: { stage: EVALUATING }, first: 1) { totalCount }
  negotiating: referrals(filter: { stage: NEGOTIATING }, first: 1) { totalCount }
  archived: referrals(filter: { stage: ARCHIVED }, first: 1) { totalCount }`;

interface CountsData {
  new: { totalCount: number };
  evaluating: { totalCount: number };
  negotiating: { totalCount: number };
  archived: { totalCount: number };
}

function countsOf(data: CountsData): StageCounts {
  return {
    NEW: data.new.totalCount,
    EVALUATING: data.evaluating.totalCount,
    NEGOTIATING: data.negotiating.totalCount,
    ARCHIVED: data.archived.totalCount,
  };
}

export async function loadCounts(apiKey: string): Promise<StageCounts> {
  return countsOf(await graphql<CountsData>(apiKey, `query StageCounts { ${COUNTS} }`));
}

/** The stages whose referrals wait for an answer under a deadline. */
const STAGES_WITH_DEADLINE = new Set(statusesWithDeadline().map(stageOf));

/** Deadlines first while a referral waits for an answer; the most recently changed first once it doesn't. */
function orderFor(stage: ReferralStage) {
  return STAGES_WITH_DEADLINE.has(stage) ? { field: "RESPOND_BY", direction: "ASC" } : { field: "UPDATED_AT", direction: "DESC" };
}

/** One page of a tab, with every tab's count in the same request. */
export async function loadStage(
  apiKey: string,
  stage: ReferralStage,
  statuses: ReferralStatus[] | undefined,
  after: string | null = null,
): Promise<{ page: Page; counts: StageCounts }> {
  const data = await graphql<
    CountsData & { page: { edges: { node: Referral }[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }
  >(
    apiKey,
    `query StagePage($filter: ReferralFilter, $orderBy: ReferralOrder, $first: Int, $after: String) {
      page: referrals(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
        edges { node { ...ReferralFields } }
        pageInfo { endCursor hasNextPage }
      }
      ${COUNTS}
    }
    ${REFERRAL_FIELDS}`,
    { filter: statuses?.length ? { stage, statuses } : { stage }, orderBy: orderFor(stage), first: PAGE_SIZE, after },
  );
  return {
    page: { referrals: data.page.edges.map((edge) => edge.node), ...data.page.pageInfo },
    counts: countsOf(data),
  };
}

export async function loadReferral(apiKey: string, id: string): Promise<Referral | null> {
  const data = await graphql<{ referral: Referral | null }>(
    apiKey,
    `query Referral($id: ID!) { referral(id: $id) { ...ReferralFields } } ${REFERRAL_FIELDS}`,
    { id },
  );
  return data.referral;
}

/** The order a tab shows, kept when live changes are merged in: the server's order for that stage. */
export function compareIn(stage: ReferralStage): (a: Referral, b: Referral) => number {
  const { field } = orderFor(stage);
  if (field === "RESPOND_BY") return (a, b) => (a.respondBy ?? "").localeCompare(b.respondBy ?? "") || Number(a.id) - Number(b.id);
  return (a, b) => b.updatedAt.localeCompare(a.updatedAt) || Number(b.id) - Number(a.id);
}
