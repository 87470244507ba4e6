/**
 * Eligibility: the reason in plain words when the person may not book, the
 * booking window when they may. The rules are data in eligibility
 * (docs/eligibility.md); the page only words the answer.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { EligibilityReason, type CheckEligibilityResponse } from "../../gen/yeyak/eligibility/v1/eligibility_pb";
import { alertBox, h, seoulDateTime, show, submitted } from "../dom";
import { explain } from "../errors";
import { currentLang, t } from "../i18n";
import type { Api } from "../rpc";
import type { Verified } from "./identity";

const reasons: Record<"ko" | "en", Partial<Record<EligibilityReason, string>>> = {
  ko: {
    [EligibilityReason.NOT_IN_COHORT]: "이번 예약 대상(연령·우선접종 그룹)에 해당하지 않습니다.",
    [EligibilityReason.WINDOW_NOT_OPEN]: "해당 그룹의 예약 기간이 아직 시작되지 않았습니다.",
    [EligibilityReason.WINDOW_CLOSED]: "해당 그룹의 예약 기간이 끝났습니다.",
    [EligibilityReason.ALREADY_BOOKED]: "이미 예약이 있습니다. 변경하려면 예약 관리를 이용해 주세요.",
    [EligibilityReason.ALREADY_VACCINATED]: "이미 이 차수의 접종을 받으셨습니다.",
    [EligibilityReason.TOO_EARLY_FOR_DOSE]: "이전 접종 후 아직 간격이 충분하지 않습니다.",
    [EligibilityReason.NOT_INSURED]: "건강보험 자격이 확인되지 않습니다. 가까운 보건소에 문의해 주세요.",
    [EligibilityReason.UNKNOWN_PERSON]: "등록 정보를 찾을 수 없습니다. 보건소에 문의해 주세요.",
    [EligibilityReason.PROXY_NOT_ALLOWED]: "이 분을 대신 예약할 수 없습니다 (대리 예약 한도를 넘었습니다).",
  },
  en: {
    [EligibilityReason.NOT_IN_COHORT]: "You are not in a group (age or priority) that may book in this round.",
    [EligibilityReason.WINDOW_NOT_OPEN]: "Booking for your group has not opened yet.",
    [EligibilityReason.WINDOW_CLOSED]: "Booking for your group has closed.",
    [EligibilityReason.ALREADY_BOOKED]: "You already have a booking; manage it to change it.",
    [EligibilityReason.ALREADY_VACCINATED]: "You have already had this dose.",
    [EligibilityReason.TOO_EARLY_FOR_DOSE]: "It is too soon after your previous dose.",
    [EligibilityReason.NOT_INSURED]: "Your health insurance could not be confirmed. Please ask your public health centre.",
    [EligibilityReason.UNKNOWN_PERSON]: "Your record was not found. Please ask your public health centre.",
    [EligibilityReason.PROXY_NOT_ALLOWED]: "You cannot book for this person (the limit of people one may book for is reached).",
  },
};

/** The wording of a refusal's reason. */
export const reasonText = (reason: EligibilityReason): string => reasons[currentLang()][reason] ?? t("not_eligible");

/** Checks `subject` (booked by `agent` when set); resolves when the person may go on, never otherwise. */
export async function eligibility(api: Api, subject: Verified, agent?: Verified): Promise<CheckEligibilityResponse> {
  const result = h("div", { id: "eligibility-result", role: "status" }, t("checking"));
  const host = show("step_eligibility", t("eligibility_h"), result);
  for (;;) {
    let decision: CheckEligibilityResponse;
    try {
      decision = await api.eligibility.checkEligibility({ identityAssertion: subject.assertion, agentAssertion: agent?.assertion ?? "", doseNumber: 1 });
    } catch (e) {
      const retry = h("form", {}, alertBox(explain(e)), h("button", { type: "submit" }, t("retry")));
      result.replaceChildren(retry);
      await submitted(retry);
      result.replaceChildren(t("checking"));
      continue;
    }
    if (!decision.eligible) {
      result.replaceChildren(
        h("p", { class: "refused", id: "not-eligible", "data-reason": EligibilityReason[decision.reason] ?? "" }, h("strong", {}, t("not_eligible")), " ", reasonText(decision.reason)),
      );
      if (decision.earliestVaccinationDate) result.append(h("p", {}, decision.earliestVaccinationDate));
      return new Promise(() => undefined); // the flow ends here
    }
    const w = decision.window;
    const next = h("form", {},
      h("p", { class: "ok", id: "eligible" }, t("eligible")),
      w?.opensAt && w.closesAt ? h("p", {}, t("window", { from: seoulDateTime(timestampDate(w.opensAt)), to: seoulDateTime(timestampDate(w.closesAt)) })) : null,
      h("button", { type: "submit", id: "eligibility-continue" }, t("continue")));
    result.replaceChildren(next);
    host.querySelector("button")?.focus();
    await submitted(next);
    return decision;
  }
}
