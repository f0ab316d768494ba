/**
 * The referral lifecycle: states, the actions that move between them, the dashboard stage of each
 * state and the deadline that applies in it. Pure: resolvers, services, jobs and tests all ask this
 * module, and nothing else encodes a transition rule.
 *
 *   NEW ──interest──▶ EVALUATING ──accept──▶ NEGOTIATING ──won──▶ WON
 *    ├─ignore──▶ IGNORED  ├─decline──▶ DECLINED      └──lost──▶ LOST
 *    └─deadline─▶ MISSED  └─deadline──▶ EXPIRED
 */

export enum ReferralStatus {
  NEW = "NEW",
  EVALUATING = "EVALUATING",
  NEGOTIATING = "NEGOTIATING",
  WON = "WON",
  LOST = "LOST",
  IGNORED = "IGNORED",
  MISSED = "MISSED",
  DECLINED = "DECLINED",
  EXPIRED = "EXPIRED",
}

export enum ReferralStage {
  NEW = "NEW",
  EVALUATING = "EVALUATING",
  NEGOTIATING = "NEGOTIATING",
  ARCHIVED = "ARCHIVED",
}

/** Everything that can happen to a referral; each is recorded as an event. */
export enum ReferralAction {
  RECEIVE = "RECEIVE",
  EXPRESS_INTEREST = "EXPRESS_INTEREST",
  IGNORE = "IGNORE",
  ACCEPT = "ACCEPT",
  DECLINE = "DECLINE",
  UPDATE_ESTIMATE = "UPDATE_ESTIMATE",
  MARK_WON = "MARK_WON",
  MARK_LOST = "MARK_LOST",
  SET_EXTERNAL_REFERENCE = "SET_EXTERNAL_REFERENCE",
  MISS = "MISS",
  EXPIRE = "EXPIRE",
}

/** Who may take an action: the partner (through its key, or an admin for it), or the deadline. */
export type TakenBy = "partner" | "system";

interface Rule {
  from: readonly ReferralStatus[];
  /** The status afterwards; absent when the action changes details but not the status. */
  to?: ReferralStatus;
  by: TakenBy;
}

const S = ReferralStatus;
const ACTIVE = [S.NEW, S.EVALUATING, S.NEGOTIATING] as const;

const RULES: Record<ReferralAction, Rule> = {
  // Arrival creates the referral; no existing status leads to it.
  [ReferralAction.RECEIVE]: { from: [], to: S.NEW, by: "system" },
  [ReferralAction.EXPRESS_INTEREST]: { from: [S.NEW], to: S.EVALUATING, by: "partner" },
  [ReferralAction.IGNORE]: { from: [S.NEW], to: S.IGNORED, by: "partner" },
  [ReferralAction.ACCEPT]: { from: [S.EVALUATING], to: S.NEGOTIATING, by: "partner" },
  [ReferralAction.DECLINE]: { from: [S.EVALUATING], to: S.DECLINED, by: "partner" },
  [ReferralAction.UPDATE_ESTIMATE]: { from: [S.NEGOTIATING], by: "partner" },
  [ReferralAction.MARK_WON]: { from: [S.NEGOTIATING], to: S.WON, by: "partner" },
  [ReferralAction.MARK_LOST]: { from: [S.NEGOTIATING], to: S.LOST, by: "partner" },
  // Archived referrals are read-only, the CRM id included.
  [ReferralAction.SET_EXTERNAL_REFERENCE]: { from: ACTIVE, by: "partner" },
  [ReferralAction.MISS]: { from: [S.NEW], to: S.MISSED, by: "system" },
  [ReferralAction.EXPIRE]: { from: [S.EVALUATING], to: S.EXPIRED, by: "system" },
};

const STAGES: Record<ReferralStatus, ReferralStage> = {
  NEW: ReferralStage.NEW,
  EVALUATING: ReferralStage.EVALUATING,
  NEGOTIATING: ReferralStage.NEGOTIATING,
  WON: ReferralStage.ARCHIVED,
  LOST: ReferralStage.ARCHIVED,
  IGNORED: ReferralStage.ARCHIVED,
  MISSED: ReferralStage.ARCHIVED,
  DECLINED: ReferralStage.ARCHIVED,
  EXPIRED: ReferralStage.ARCHIVED,
};

/** The statuses from which `action` may be taken. */
export function allowedFrom(action: ReferralAction): readonly ReferralStatus[] {
  return RULES[action].from;
}

export function takenBy(action: ReferralAction): TakenBy {
  return RULES[action].by;
}

/** The status after `action` in `status`, or undefined when the lifecycle refuses it. */
export function nextStatus(status: ReferralStatus, action: ReferralAction): ReferralStatus | undefined {
  const rule = RULES[action];
  if (!rule.from.includes(status)) return undefined;
  return rule.to ?? status;
}

/** The status `action` leads to when it changes the status at all. */
export function targetStatus(action: ReferralAction): ReferralStatus | undefined {
  return RULES[action].to;
}

/**
 * The status a referral had before `action` left it in `after` (null for its arrival). Every
 * status-changing action starts from exactly one status, so the event can name it without reading the
 * row first.
 */
export function statusBefore(action: ReferralAction, after: ReferralStatus): ReferralStatus | null {
  const rule = RULES[action];
  return rule.to === undefined ? after : (rule.from[0] ?? null);
}

export function stageOf(status: ReferralStatus): ReferralStage {
  return STAGES[status];
}

export function statusesInStage(stage: ReferralStage): ReferralStatus[] {
  return Object.values(ReferralStatus).filter((status) => STAGES[status] === stage);
}

export function isArchived(status: ReferralStatus): boolean {
  return STAGES[status] === ReferralStage.ARCHIVED;
}

export interface LifecycleWindows {
  /** From arrival, for NEW. */
  newReferralResponseWindowMs: number;
  /** From interest, for EVALUATING. */
  evaluationWindowMs: number;
}

/**
 * The deadline of a referral that has just entered `status` at `enteredAt`: 72 h (configurable) in
 * NEW, 7 days in EVALUATING, none elsewhere. Both stages count from the moment they were entered.
 */
export function respondByOnEntering(status: ReferralStatus, enteredAt: Date, windows: LifecycleWindows): Date | null {
  switch (status) {
    case S.NEW:
      return new Date(enteredAt.getTime() + windows.newReferralResponseWindowMs);
    case S.EVALUATING:
      return new Date(enteredAt.getTime() + windows.evaluationWindowMs);
    default:
      return null;
  }
}

/** What entering `status` at `at` sets on a referral: the status, its deadline (or none), and when it was archived. */
export function columnsOnEntering(
  status: ReferralStatus,
  at: Date,
  windows: LifecycleWindows,
): { status: ReferralStatus; respondBy: Date | null; closedAt?: Date } {
  return { status, respondBy: respondByOnEntering(status, at, windows), ...(isArchived(status) ? { closedAt: at } : {}) };
}

/** The system action that applies when a referral in `status` passes its deadline, if any. */
export function deadlineAction(status: ReferralStatus): ReferralAction | undefined {
  if (status === S.NEW) return ReferralAction.MISS;
  if (status === S.EVALUATING) return ReferralAction.EXPIRE;
  return undefined;
}

/** The statuses that lapse at a deadline (NEW and EVALUATING). */
export function statusesWithDeadline(): ReferralStatus[] {
  return Object.values(ReferralStatus).filter((status) => deadlineAction(status) !== undefined);
}

/**
 * Whether a referral in `status` takes up room on its marketing profile (maxOpenReferrals): while it
 * awaits the partner's answer, the statuses with a deadline (NEW, EVALUATING). The API calls these
 * the profile's open referrals (`openReferrals`).
 */
export function holdsCapacity(status: ReferralStatus | null): boolean {
  return status !== null && deadlineAction(status) !== undefined;
}

/**
 * Whether the partner may see who the customer is: only once it has said it is interested, and
 * from then on. IGNORED and MISSED are reached from NEW only, so they never reveal it.
 */
export function partnerSeesCustomer(status: ReferralStatus): boolean {
  return status !== S.NEW && status !== S.IGNORED && status !== S.MISSED;
}

/**
 * Whether reaching `status` means the partner will not follow up (it passed, or let a deadline lapse):
 * the customer is then told to choose another partner.
 */
export function customerChoosesAnother(status: ReferralStatus): boolean {
  return status === S.IGNORED || status === S.DECLINED || status === S.MISSED || status === S.EXPIRED;
}

/** What a partner's decision says of its taste: it took the referral on, or turned it away. */
export type Outcome = "accepted" | "declined";

const OUTCOMES: Partial<Record<ReferralStatus, Outcome>> = {
  NEGOTIATING: "accepted",
  WON: "accepted",
  LOST: "accepted",
  DECLINED: "declined",
  IGNORED: "declined",
};

/**
 * Accepted once it reached NEGOTIATING (and WON or LOST after it); declined when declined or ignored.
 * MISSED and EXPIRED say nothing of the partner's taste: undefined, like the open stages before it.
 */
export function outcomeOf(status: ReferralStatus): Outcome | undefined {
  return OUTCOMES[status];
}

/** Whether the deal was won (WON), lost (LOST), or is not closed. */
export function dealWon(status: ReferralStatus): boolean | undefined {
  return status === S.WON ? true : status === S.LOST ? false : undefined;
}

/**
 * How `action` ended a referral's wait in NEW: answered by the partner (interest or no thanks),
 * missed at the deadline, or not at all (the action does not leave NEW).
 */
export function arrivalAnswer(action: ReferralAction): "answered" | "missed" | undefined {
  const rule = RULES[action];
  if (!rule.from.includes(S.NEW) || rule.to === undefined || rule.to === S.NEW) return undefined;
  return rule.by === "partner" ? "answered" : "missed";
}

/** The statuses whose outcome is `outcome`, for queries. */
export function statusesWithOutcome(outcome: Outcome): ReferralStatus[] {
  return Object.values(ReferralStatus).filter((status) => OUTCOMES[status] === outcome);
}

/** The statuses still in play (not archived), for queries. */
export function openStatuses(): ReferralStatus[] {
  return Object.values(ReferralStatus).filter((status) => !isArchived(status));
}
