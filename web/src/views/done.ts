/**
 * The confirmation, and what comes after it: the booking ended the session
 * (its pass is refused everywhere within seconds, docs/admission.md), and
 * identity binds one person to one place per event (docs/stuffing.md), so
 * cancelling or changing goes through a line of its own (the event
 * `changes_queue`) and verification there; the page says so first.
 */
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ReservationSchema, ReservationState, type Reservation } from "../../gen/yeyak/reservation/v1/reservation_pb";
import { alertBox, h, seoulDateTime, show, submitted } from "../dom";
import { explain, sessionEnded } from "../errors";
import { t } from "../i18n";
import type { Api, PageConfig, Session } from "../rpc";
import { verifyPerson, type Verified } from "./identity";
import { searchAndBook } from "./search";
import { waitingRoom } from "./waiting";

/** `r` as the person reads it; `id` marks the booking code (once per page: ids are unique). */
function details(r: Reservation, id = true): HTMLElement {
  return h("dl", { class: "booking" },
    h("dt", {}, t("code_label")), h("dd", { id: id ? "booking-code" : undefined, class: "code" }, r.bookingCode),
    h("dt", {}, t("clinic")), h("dd", {}, r.clinicName),
    h("dt", {}, t("when")), h("dd", {}, r.startsAt ? seoulDateTime(timestampDate(r.startsAt)) : ""),
    h("dt", {}, t("vaccine")), h("dd", {}, `${r.vaccineCode} · ${t("dose", { n: r.doseNumber })}`));
}

/**
 * The booking shown last, kept for this tab only (sessionStorage): a reload
 * after booking shows the confirmation again instead of a new place in the
 * booking line, where this person could not verify again. It holds what
 * the confirmation shows (no resident number, no phone).
 */
const KEPT = "yeyak.booking";

export function keptBooking(): Reservation | undefined {
  const json = sessionStorage.getItem(KEPT);
  try {
    return json ? fromJsonString(ReservationSchema, json) : undefined;
  } catch {
    sessionStorage.removeItem(KEPT);
    return undefined;
  }
}

/** Shows `r` as booked (or `changed`), and runs a cancel or a change the person asks for. */
export async function confirmation(api: Api, session: Session, config: PageConfig, r: Reservation, changed = false): Promise<never> {
  for (;;) {
    sessionStorage.setItem(KEPT, toJsonString(ReservationSchema, r));
    const manage = h("form", {}, h("p", {}, t("manage_note")), h("button", { type: "submit", id: "manage", class: "secondary" }, t("manage")));
    show("step_done", t(changed ? "rescheduled" : "done_h"), details(r), h("p", {}, t("sms_note")), manage);
    await submitted(manage);
    const next = await manageBooking(api, session, config, r);
    if (next) {
      r = next;
      changed = true;
    }
  }
}

/** The changes line's session: its pass is in `session.pass`, and who verified under it. */
let changes: Verified | undefined;

/**
 * The changes line, verification of the person who booked (both once: a
 * change does not end the session, so a cancel after a change needs
 * neither again), then cancel or change; the booking as it now stands, or
 * none once cancelled.
 */
async function manageBooking(api: Api, session: Session, config: PageConfig, r: Reservation): Promise<Reservation | undefined> {
  const who = await enterChanges(api, session, config);
  const error = h("div", { class: "errors" });
  for (;;) {
    let action = "";
    const form = h("form", {},
      details(r), error,
      h("button", { type: "submit", id: "reschedule", onclick: () => (action = "reschedule") }, t("reschedule")),
      h("button", { type: "submit", id: "cancel", class: "danger", onclick: () => (action = "cancel") }, t("cancel")));
    show("step_done", t("manage_h"), form);
    await submitted(form);
    try {
      if (action === "cancel") {
        await api.reservation.cancelReservation({ reservationId: r.reservationId, identityAssertion: who.assertion });
        sessionStorage.removeItem(KEPT);
        show("step_done", t("cancelled"), h("p", { id: "cancelled", role: "status" }, t("cancelled")));
        return new Promise(() => undefined);
      }
      return await searchAndBook(api, async (slotId) => {
        const moved = await api.reservation.rescheduleReservation({ reservationId: r.reservationId, newSlotId: slotId, identityAssertion: who.assertion });
        if (!moved.reservation) throw new Error("no reservation in the answer");
        return moved.reservation;
      });
    } catch (e) {
      if (sessionEnded(e)) changes = undefined; // the seat expired: the line again, on the next try
      error.replaceChildren(alertBox(explain(e)));
    }
  }
}

/** The changes line and verification there, once per page (see `changes`). */
async function enterChanges(api: Api, session: Session, config: PageConfig, onAdmitted?: () => void): Promise<Verified> {
  if (!changes) {
    session.pass = "";
    await waitingRoom(api, session, config.changes_queue);
    onAdmitted?.();
    const host = show("step_identity", t("manage_h"));
    changes = await verifyPerson(api, config, host, t("manage_verify"), "manage");
  }
  return changes;
}

/**
 * "Booked already?" from the booking line's screen, on any device (nothing
 * kept in this tab): the changes line and verification, then the bookings
 * of the person verified that still hold a place and are still to come (a
 * parent's too, for the child who booked it), one to cancel or change.
 */
export async function manageExisting(api: Api, session: Session, config: PageConfig, onAdmitted: () => void): Promise<never> {
  const who = await enterChanges(api, session, config, onAdmitted);
  const listed = await api.reservation.listReservations({ identityAssertion: who.assertion });
  // In force: holding a place, and not yet past (a dose given stays confirmed).
  const held = listed.reservations.filter((r) =>
    r.state === ReservationState.CONFIRMED && (!r.startsAt || timestampDate(r.startsAt).getTime() > Date.now()));
  if (held.length === 0) {
    show("step_done", t("manage_h"), h("p", { id: "no-booking", role: "status" }, t("no_booking")),
      h("p", {}, h("a", { id: "book-instead", href: location.pathname }, t("book_instead"))));
    return new Promise(() => undefined);
  }
  const chosen = held.length === 1 ? held[0] : await choose(held);
  const next = await manageBooking(api, session, config, chosen);
  return confirmation(api, session, config, next ?? chosen, next !== undefined);
}

/** Several bookings in force (doses, a parent's): the person picks one. */
function choose(held: Reservation[]): Promise<Reservation> {
  return new Promise((resolve) => {
    show("step_done", t("manage_h"), ...held.map((r) => h("section", { class: "held" }, details(r, false),
      h("button", { type: "button", class: "secondary", "data-code": r.bookingCode, onclick: () => resolve(r) }, t("manage")))));
  });
}
