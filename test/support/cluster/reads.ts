import { between, post, sleep, type Gateway, type Tally } from "./gateway.js";
import type { ClusterPartner } from "./population.js";

const CHANGES = `query($after: String) {
  referralChanges(first: 100, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor } }
}`;

/**
 * A partner's CRM: it polls referralChanges from its last cursor, page after page until nothing is
 * new, keeps the cursor, and waits a moment. `cursors` is every change it got, in order.
 */
export class Integrator {
  readonly cursors: string[] = [];
  private cursor: string | null = null;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    readonly partner: ClusterPartner,
    private readonly gateway: Gateway,
    private readonly tally: Tally,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.running = this.poll();
  }

  /** Polls until it has caught up once more, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  get last(): string | null {
    return this.cursor;
  }

  /** One sync: pages until nothing is new. */
  async sync(): Promise<void> {
    for (;;) {
      const answer = await post(this.gateway, this.partner.crmKey, CHANGES, { after: this.cursor });
      this.tally.add("referralChanges", answer.code);
      if (!answer.data) return;
      const { edges, pageInfo } = answer.data.referralChanges;
      this.cursors.push(...edges.map((edge: { cursor: string }) => edge.cursor));
      if (pageInfo.endCursor) this.cursor = pageInfo.endCursor;
      if (!pageInfo.hasNextPage) return;
    }
  }

  private async poll(): Promise<void> {
    await sleep(between(0, this.everyMs));
    while (!this.stopped) {
      await this.sync();
      await sleep(this.everyMs);
    }
  }
}

const REFERRAL_FIELDS = `id status version receivedAt updatedAt respondBy archived
  overview { need region keywords } partner { id name } events { action at from to }`;
const STAGE_PAGE = `query($filter: ReferralFilter, $orderBy: ReferralOrder) {
  page: referrals(filter: $filter, orderBy: $orderBy, first: 25) { edges { node { ${REFERRAL_FIELDS} } } pageInfo { endCursor hasNextPage } }
  new: referrals(filter: { stage: NEW }, first: 1) { totalCount }
  evaluating: referrals(filter: { stage: EVALUATING }, first: 1) { totalCount }
  negotiating: referrals(filter: { stage: NEGOTIATING }, first: 1) { totalCount }
  archived: referrals(filter: { stage: ARCHIVED }, first: 1) { totalCount }
}`;
const STAGES = [
  { filter: { stage: "NEW" }, orderBy: { field: "RESPOND_BY", direction: "ASC" } },
  { filter: { stage: "EVALUATING" }, orderBy: { field: "RESPOND_BY", direction: "ASC" } },
  { filter: { stage: "NEGOTIATING" }, orderBy: { field: "UPDATED_AT", direction: "DESC" } },
  { filter: { stage: "ARCHIVED" }, orderBy: { field: "UPDATED_AT", direction: "DESC" } },
];

/** One list read: when it ended, which instance answered, how long it took, and its error if any. */
export interface ListRead {
  at: number;
  via: string;
  ms: number;
  code: string | undefined;
}

/** Partners' dashboards: a tab's page with every tab's count (as web/src/api/referrals.ts asks), at a steady rate. */
export class ListReaders {
  readonly reads: ListRead[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly partners: readonly ClusterPartner[],
    private readonly gateway: Gateway,
    private readonly tally: Tally,
    private readonly perSecond: number,
  ) {}

  start(): void {
    this.running = this.read();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async read(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    const started = Date.now();
    for (let n = 0; !this.stopped; n++) {
      const wait = started + (n * 1000) / this.perSecond - Date.now();
      if (wait > 0) await sleep(wait);
      const partner = this.partners[n % this.partners.length];
      const stage = STAGES[Math.floor(Math.random() * STAGES.length)];
      const reading = post(this.gateway, partner.key, STAGE_PAGE, stage).then((answer) => {
        this.tally.add("referrals", answer.code);
        this.reads.push({ at: Date.now(), via: answer.via, ms: answer.ms, code: answer.code });
      });
      const tracked = reading.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
  }
}
