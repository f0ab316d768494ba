import { expect } from "chai";
import {
  allowedFrom,
  deadlineAction,
  takenBy,
  isArchived,
  nextStatus,
  partnerSeesCustomer,
  ReferralAction as A,
  ReferralStage,
  ReferralStatus as S,
  respondByOnEntering,
  stageOf,
  statusBefore,
  statusesInStage,
} from "../../src/referrals/lifecycle.js";

/** The whole lifecycle as the spec draws it: for each status, what each action leads to (absent = refused). */
const EXPECTED: Record<S, Partial<Record<A, S>>> = {
  NEW: { EXPRESS_INTEREST: S.EVALUATING, IGNORE: S.IGNORED, MISS: S.MISSED, SET_EXTERNAL_REFERENCE: S.NEW },
  EVALUATING: { ACCEPT: S.NEGOTIATING, DECLINE: S.DECLINED, EXPIRE: S.EXPIRED, SET_EXTERNAL_REFERENCE: S.EVALUATING },
  NEGOTIATING: {
    UPDATE_ESTIMATE: S.NEGOTIATING,
    MARK_WON: S.WON,
    MARK_LOST: S.LOST,
    SET_EXTERNAL_REFERENCE: S.NEGOTIATING,
  },
  WON: {},
  LOST: {},
  IGNORED: {},
  MISSED: {},
  DECLINED: {},
  EXPIRED: {},
};

describe("referrals > lifecycle (pure)", () => {
  for (const status of Object.values(S)) {
    for (const action of Object.values(A)) {
      const expected = EXPECTED[status][action];
      const title = expected ? `allows ${status} -[${action}]-> ${expected}` : `refuses ${action} in ${status}`;
      it(title, () => {
        expect(nextStatus(status, action)).to.equal(expected);
        expect(allowedFrom(action).includes(status)).to.equal(expected !== undefined);
      });
    }
  }

  it("puts each status in its dashboard stage", () => {
    expect(Object.fromEntries(Object.values(S).map((status) => [status, stageOf(status)]))).to.deep.equal({
      NEW: "NEW",
      EVALUATING: "EVALUATING",
      NEGOTIATING: "NEGOTIATING",
      WON: "ARCHIVED",
      LOST: "ARCHIVED",
      IGNORED: "ARCHIVED",
      MISSED: "ARCHIVED",
      DECLINED: "ARCHIVED",
      EXPIRED: "ARCHIVED",
    });
    expect(statusesInStage(ReferralStage.ARCHIVED)).to.deep.equal(["WON", "LOST", "IGNORED", "MISSED", "DECLINED", "EXPIRED"]);
    expect(Object.values(S).filter(isArchived)).to.deep.equal(["WON", "LOST", "IGNORED", "MISSED", "DECLINED", "EXPIRED"]);
  });

  it("leaves deadlines to the system and every other action to the partner", () => {
    const bySystem = Object.values(A).filter((action) => takenBy(action) === "system");
    expect(bySystem).to.deep.equal([A.RECEIVE, A.MISS, A.EXPIRE]);
  });

  it("counts 72 h from arrival in NEW and 7 days from interest in EVALUATING, and nothing elsewhere", () => {
    const windows = { newReferralResponseWindowMs: 72 * 3600_000, evaluationWindowMs: 7 * 86_400_000 };
    const at = new Date("2026-11-25T10:00:00.000Z");
    expect(respondByOnEntering(S.NEW, at, windows)?.toISOString()).to.equal("2026-11-28T10:00:00.000Z");
    expect(respondByOnEntering(S.EVALUATING, at, windows)?.toISOString()).to.equal("2026-12-02T10:00:00.000Z");
    for (const status of [S.NEGOTIATING, S.WON, S.LOST, S.IGNORED, S.MISSED, S.DECLINED, S.EXPIRED]) {
      expect(respondByOnEntering(status, at, windows), status).to.equal(null);
    }
  });

  it("lapses NEW into MISSED and EVALUATING into EXPIRED, and nothing else", () => {
    expect(Object.values(S).map((status) => deadlineAction(status) ?? null)).to.deep.equal([
      A.MISS,
      A.EXPIRE,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it("names the status before each change", () => {
    expect(statusBefore(A.RECEIVE, S.NEW)).to.equal(null);
    expect(statusBefore(A.EXPRESS_INTEREST, S.EVALUATING)).to.equal(S.NEW);
    expect(statusBefore(A.MARK_WON, S.WON)).to.equal(S.NEGOTIATING);
    expect(statusBefore(A.SET_EXTERNAL_REFERENCE, S.EVALUATING)).to.equal(S.EVALUATING);
    for (const action of Object.values(A)) {
      const changesStatus = Object.values(S).some((status) => {
        const next = nextStatus(status, action);
        return next !== undefined && next !== status;
      });
      if (changesStatus) expect(allowedFrom(action), action).to.have.length(1);
    }
  });

  it("shows the customer to the partner from interest on, never in NEW, IGNORED or MISSED", () => {
    expect(Object.values(S).filter(partnerSeesCustomer)).to.deep.equal(["EVALUATING", "NEGOTIATING", "WON", "LOST", "DECLINED", "EXPIRED"]);
  });
});
