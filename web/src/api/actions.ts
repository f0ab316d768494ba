import { allowedFrom, takenBy, ReferralAction, type ReferralStatus } from "../../../src/referrals/lifecycle.js";
import { graphql } from "./graphql.js";
import { REFERRAL_FIELDS, type Referral } from "./referrals.js";

/** What a partner is asked before an action is sent. */
export type ActionForm = "none" | "reason" | "deal" | "won" | "reference";

interface PartnerAction {
  form: ActionForm;
  /** The mutation's field, and its arguments beyond `id` and `expectedVersion`. */
  field: string;
  args: Record<string, string>;
}

const ACTIONS: Partial<Record<ReferralAction, PartnerAction>> = {
  [ReferralAction.EXPRESS_INTEREST]: { form: "none", field: "expressInterest", args: {} },
  [ReferralAction.IGNORE]: { form: "reason", field: "ignoreReferral", args: { reason: "String" } },
  [ReferralAction.ACCEPT]: { form: "deal", field: "acceptReferral", args: { input: "AcceptReferralInput!" } },
  [ReferralAction.DECLINE]: { form: "reason", field: "declineReferral", args: { reason: "String" } },
  [ReferralAction.UPDATE_ESTIMATE]: {
    form: "deal",
    field: "updateDealEstimate",
    args: { input: "AcceptReferralInput!" },
  },
  [ReferralAction.MARK_WON]: { form: "won", field: "markReferralWon", args: { input: "WonReferralInput" } },
  [ReferralAction.MARK_LOST]: { form: "reason", field: "markReferralLost", args: { reason: "String" } },
  [ReferralAction.SET_EXTERNAL_REFERENCE]: {
    form: "reference",
    field: "setExternalReference",
    args: { externalReferenceId: "String" },
  },
};

export interface AvailableAction extends PartnerAction {
  action: ReferralAction;
}

/** The partner's actions the lifecycle allows in `status`, in the lifecycle's order. */
export function actionsFor(status: ReferralStatus): AvailableAction[] {
  return Object.values(ReferralAction).flatMap((action) => {
    const known = ACTIONS[action];
    if (!known || takenBy(action) !== "partner" || !allowedFrom(action).includes(status)) return [];
    return [{ action, ...known }];
  });
}

/**
 * Sends one action with the version the page last saw: the server refuses it with STALE_VERSION when
 * the referral changed meanwhile, rather than acting on a state the person never saw.
 */
export async function perform(
  apiKey: string,
  referral: Referral,
  action: AvailableAction,
  values: Record<string, unknown>,
): Promise<Referral> {
  const declared = Object.entries(action.args).map(([name, type]) => `, $${name}: ${type}`);
  const passed = Object.keys(action.args).map((name) => `, ${name}: $${name}`);
  const data = await graphql<{ result: Referral }>(
    apiKey,
    `mutation Act($id: ID!, $expectedVersion: Int${declared.join("")}) {
      result: ${action.field}(id: $id, expectedVersion: $expectedVersion${passed.join("")}) { ...ReferralFields }
    } ${REFERRAL_FIELDS}`,
    { id: referral.id, expectedVersion: referral.version, ...values },
  );
  return data.result;
}
