import { registerEnumType } from "type-graphql";

/** Why a partner passed or a deal was lost, coded for statistics, beside the free text. */
export enum ReasonCode {
  NOT_A_FIT = "NOT_A_FIT",
  NO_CAPACITY = "NO_CAPACITY",
  OUT_OF_REGION = "OUT_OF_REGION",
  BUDGET = "BUDGET",
  TIMING = "TIMING",
  CUSTOMER_UNRESPONSIVE = "CUSTOMER_UNRESPONSIVE",
  LOST_TO_COMPETITOR = "LOST_TO_COMPETITOR",
  DUPLICATE = "DUPLICATE",
  SPAM = "SPAM",
  OTHER = "OTHER",
}

registerEnumType(ReasonCode, {
  name: "ReasonCode",
  description: "Coded reasons, beside the free text, for statistics: why a partner passed or a deal was lost.",
});

/** What a partner says when it passes (No thanks, decline) or loses a deal: free text, a coded reason, or both. */
export interface PassReason {
  reason?: string | null;
  reasonCode?: ReasonCode | null;
}
