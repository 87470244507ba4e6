/**
 * Search and booking: a region, a vaccine and dates give clinics with
 * places; a clinic gives its times. `book` makes the reservation (a new one,
 * or the move of one); a time that filled up meanwhile is said plainly and
 * the clinic's times are shown again.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ClinicSummary, Province } from "../../gen/yeyak/inventory/v1/inventory_pb";
import type { Reservation } from "../../gen/yeyak/reservation/v1/reservation_pb";
import { alertBox, field, h, seoulDate, seoulDateTime, show, submitted } from "../dom";
import { explain, slotFull } from "../errors";
import { t } from "../i18n";
import type { Api } from "../rpc";

const VACCINES: [string, string][] = [["pfizer", "Pfizer"], ["moderna", "Moderna"], ["az", "AstraZeneca"], ["janssen", "Janssen"]];

export async function searchAndBook(api: Api, book: (slotId: string) => Promise<Reservation>): Promise<Reservation> {
  const province = h("select", { required: true });
  const district = h("select", {});
  const vaccine = h("select", { required: true }, ...VACCINES.map(([code, name]) => h("option", { value: code }, name)));
  const from = h("input", { type: "date", required: true, value: seoulDate(0) });
  const to = h("input", { type: "date", required: true, value: seoulDate(13) });
  const error = h("div", { class: "errors" });
  const form = h("form", { class: "search", id: "search-form" },
    field("region", t("region"), province), field("district", t("district"), district), field("vaccine", t("vaccine"), vaccine),
    field("from-date", t("from_date"), from), field("to-date", t("to_date"), to), error,
    h("button", { type: "submit", id: "search" }, t("search")));
  const results = h("section", { id: "clinics", "aria-live": "polite" });
  const slots = h("section", { id: "slots" });
  show("step_search", t("search_h"), form, results, slots);
  let regions: Province[] = [];
  for (;;) {
    try {
      regions = (await api.inventory.listRegions({})).provinces;
      break;
    } catch (e) {
      error.replaceChildren(alertBox(explain(e)));
      await submitted(form);
    }
  }
  province.replaceChildren(...regions.map((p) => h("option", { value: p.code }, p.name)));
  const districts = (): void => {
    const chosen = regions.find((p) => p.code === province.value);
    district.replaceChildren(h("option", { value: "" }, t("all_districts")), ...(chosen?.districts ?? []).map((d) => h("option", { value: d.code }, d.name)));
  };
  province.addEventListener("change", districts);
  districts();
  return new Promise<Reservation>((resolve) => {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      error.replaceChildren();
      slots.replaceChildren();
      const query = { regionCode: district.value || province.value, vaccineCode: vaccine.value, fromDate: from.value, toDate: to.value, pageSize: 20, pageToken: "" };
      api.inventory.searchClinics(query).then(
        (found) => listClinics(results, found.clinics, (clinic) => void showSlots(api, slots, clinic, query, book).then(resolve)),
        (e) => error.replaceChildren(alertBox(explain(e))),
      );
    });
  });
}

function listClinics(host: HTMLElement, clinics: ClinicSummary[], choose: (c: ClinicSummary) => void): void {
  if (clinics.length === 0) {
    host.replaceChildren(h("p", { id: "no-clinics" }, t("no_clinics")));
    return;
  }
  host.replaceChildren(
    h("h3", {}, t("clinics")),
    h("ul", { class: "clinics" }, ...clinics.map((c) =>
      h("li", {},
        h("strong", {}, c.name), h("span", {}, ` ${c.address} · ${t("remaining", { n: c.remainingTotal })} `),
        h("button", { type: "button", class: "secondary", "data-clinic": c.clinicId, onclick: () => choose(c), "aria-label": `${t("choose")}: ${c.name}` }, t("choose"))))),
  );
}

type Query = { vaccineCode: string; fromDate: string; toDate: string };

/** The clinic's times; resolves with the reservation once one is booked. */
async function showSlots(api: Api, host: HTMLElement, clinic: ClinicSummary, query: Query, book: (slotId: string) => Promise<Reservation>): Promise<Reservation> {
  const heading = h("h3", { tabindex: "-1" }, t("slots_for", { clinic: clinic.name }));
  const note = h("div", { class: "errors" });
  const list = h("ul", { class: "slots" });
  host.replaceChildren(heading, note, list);
  heading.focus();
  for (;;) {
    let slots;
    try {
      slots = (await api.inventory.getAvailability({ clinicId: clinic.clinicId, ...query })).slots;
    } catch (e) {
      const retry = h("form", {}, alertBox(explain(e)), h("button", { type: "submit" }, t("retry")));
      note.replaceChildren(retry);
      await submitted(retry);
      note.replaceChildren();
      continue;
    }
    const picked = await new Promise<string>((resolve) =>
      list.replaceChildren(...slots.map((s) => {
        const when = s.startsAt ? seoulDateTime(timestampDate(s.startsAt)) : s.slotId;
        const full = s.remaining === 0;
        return h("li", {},
          h("button", { type: "button", "data-slot": s.slotId, "data-remaining": String(s.remaining), disabled: full, onclick: () => resolve(s.slotId) },
            t("book", { time: when })),
          h("span", {}, full ? ` ${t("full")}` : ` ${t("remaining", { n: s.remaining })}`));
      })));
    note.replaceChildren(h("p", { role: "status" }, t("booking")));
    for (const b of list.querySelectorAll("button")) b.disabled = true;
    try {
      return await book(picked);
    } catch (e) {
      note.replaceChildren(alertBox(slotFull(e) ? t("slot_full") : explain(e)));
    }
  }
}
