import { between, post, retryable, sleep, type Answer, type Gateway, type Tally } from "./gateway.js";
import type { ClusterPartner, Population } from "./population.js";

const SUBMIT = `mutation($input: SubmitRfiInput!) { submitRfi(input: $input) { rfi { id } referrals { id partner { id } } } }`;

/** How the load runs: RFIs a second, and how long after arriving (or the previous step) partners act. */
export interface LoadSettings {
  rfisPerSecond: number;
  /** Delay before each partner decision, in ms: [min, max). */
  decisionDelayMs: [number, number];
  /** How long a client keeps retrying one request before it gives up. */
  giveUpMs: number;
}

/** One submitRfi as the marketplace made it: every answer it got, and the RFI each success named. */
export interface Submission {
  idempotencyKey: string;
  answers: { at: number; code: string | undefined; message?: string }[];
  rfiIds: Set<string>;
  /** Whether it was sent twice at once, as a client whose first answer got lost would. */
  doubled: boolean;
}

/** A request retried with the same content until it gets data or `final` says to stop; every answer is tallied. */
export async function persist<T>(
  tally: Tally,
  operation: string,
  giveUpMs: number,
  attempt: () => Promise<Answer<T>>,
  final: (code: string) => boolean = () => false,
): Promise<Answer<T>[]> {
  const answers: Answer<T>[] = [];
  const deadline = Date.now() + giveUpMs;
  for (;;) {
    const answer = await attempt();
    answers.push(answer);
    tally.add(operation, answer.code);
    if (answer.data || final(answer.code!) || Date.now() > deadline) return answers;
    // Connection errors, 502s, SERVICE_UNAVAILABLE… (and anything unexpected, which the checks report) are retried.
    await sleep(retryable(answer.code) ? between(200, 1000) : 1000);
  }
}

/** Decisions a partner takes on a referral, in order; an empty plan lets it lapse (MISS). */
type Step = "expressInterest" | "ignoreReferral" | "acceptReferral" | "declineReferral" | "markReferralWon" | "markReferralLost";

function planOf(): Step[] {
  const roll = Math.random();
  if (roll < 0.1) return [];
  if (roll < 0.25) return ["ignoreReferral"];
  const next = Math.random();
  if (next < 0.1) return ["expressInterest"]; // then lapses: EXPIRE
  if (next < 0.3) return ["expressInterest", "declineReferral"];
  const end = Math.random();
  if (end < 0.4) return ["expressInterest", "acceptReferral", "markReferralWon"];
  if (end < 0.8) return ["expressInterest", "acceptReferral", "markReferralLost"];
  return ["expressInterest", "acceptReferral"];
}

const closeDate = () => new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
const MUTATIONS: Record<Step, string> = {
  expressInterest: `mutation($id: ID!) { expressInterest(id: $id) { id } }`,
  ignoreReferral: `mutation($id: ID!) { ignoreReferral(id: $id, reason: "Not our field") { id } }`,
  acceptReferral: `mutation($id: ID!, $date: LocalDate!) {
    acceptReferral(id: $id, input: { estimatedDealValue: "50000.00", currency: "EUR", estimatedCloseDate: $date }) { id } }`,
  declineReferral: `mutation($id: ID!) { declineReferral(id: $id, reason: "Too small") { id } }`,
  markReferralWon: `mutation($id: ID!) { markReferralWon(id: $id) { id } }`,
  markReferralLost: `mutation($id: ID!) { markReferralLost(id: $id, reason: "Went elsewhere") { id } }`,
};

/**
 * The marketplace and the partners: RFIs at a steady rate (half routed automatically, half to chosen
 * partners; each with an idempotency key, retried until answered), and each partner acting on its
 * referrals after a while: interest, accept, won or lost, no thanks, decline, or nothing (it lapses).
 */
export class Load {
  readonly submissions: Submission[] = [];
  private readonly acting = new Set<Promise<void>>();
  private readonly seen = new Set<string>();
  private stopped = false;

  constructor(
    private readonly gateway: Gateway,
    private readonly population: Population,
    private readonly settings: LoadSettings,
    readonly tally: Tally,
    private readonly runId: string,
  ) {}

  /** Submits RFIs until `stop()`, open loop: a slow answer never slows the rate. */
  async run(): Promise<void> {
    const submitting = new Set<Promise<void>>();
    const started = Date.now();
    for (let n = 0; !this.stopped; n++) {
      const wait = started + (n * 1000) / this.settings.rfisPerSecond - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      const submitted = this.submit(n).finally(() => submitting.delete(submitted));
      submitting.add(submitted);
    }
    await Promise.all(submitting);
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves once every partner has taken every decision it planned. */
  async decided(): Promise<void> {
    while (this.acting.size > 0) await Promise.all(this.acting);
  }

  private async submit(n: number): Promise<void> {
    const idempotencyKey = `${this.runId}-rfi-${n}`;
    const { partners } = this.population;
    const chosen = Math.random() < 0.5;
    const input = {
      idempotencyKey,
      customer: { companyName: `Customer ${n}`, contactName: "Ann Lee", email: `customer-${n}@customers.example` },
      need: `Need ${idempotencyKey}`,
      companySize: "SIZE_50_TO_249",
      industry: "Manufacturing",
      region: "FR",
      keywords: ["cloud"],
      ...(chosen ? { partnerIds: pick(partners, Math.random() < 0.5 ? 1 : 2).map((partner) => partner.id) } : { maxPartners: 2 }),
    };
    const submission: Submission = { idempotencyKey, answers: [], rfiIds: new Set(), doubled: Math.random() < 0.05 };
    this.submissions.push(submission);
    const once = () =>
      persist(this.tally, "submitRfi", this.settings.giveUpMs, async () => {
        const answer = await post(this.gateway, this.population.intakeKey, SUBMIT, { input });
        submission.answers.push({ at: Date.now(), code: answer.code, message: answer.code ? answer.message : undefined });
        if (answer.data) {
          submission.rfiIds.add(answer.data.submitRfi.rfi.id);
          for (const referral of answer.data.submitRfi.referrals) this.decide(referral.id, referral.partner.id);
        }
        return answer;
      });
    await Promise.all(submission.doubled ? [once(), once()] : [once()]);
  }

  /** Starts the referral's partner on its plan (once per referral, however many answers named it). */
  private decide(referralId: string, partnerId: string): void {
    if (this.seen.has(referralId)) return;
    this.seen.add(referralId);
    const partner = this.population.partners.find(({ id }) => id === partnerId)!;
    const acting = this.follow(partner, referralId, planOf()).finally(() => this.acting.delete(acting));
    this.acting.add(acting);
  }

  private async follow(partner: ClusterPartner, id: string, plan: Step[]): Promise<void> {
    const [min, max] = this.settings.decisionDelayMs;
    for (const step of plan) {
      await sleep(between(min, max));
      const answers = await persist(
        this.tally,
        step,
        this.settings.giveUpMs,
        () => post(this.gateway, partner.key, MUTATIONS[step], { id, date: closeDate() }),
        // The deadline came first, or an earlier attempt whose answer was lost did it: the plan ends.
        (code) => code === "INVALID_TRANSITION",
      );
      if (!answers.at(-1)!.data) return;
    }
  }
}

function pick<T>(items: readonly T[], count: number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, count);
}
