/**
 * The citizen page: waiting room → identity → eligibility → search and
 * booking → confirmation (cancel, change), for oneself or for a parent.
 * Each step is a function that resolves when the person moves on.
 */
import { DeviceKey, clientId } from "./device";
import { alertBox, h, show } from "./dom";
import { explain, sessionEnded } from "./errors";
import { currentLang, setLang, t } from "./i18n";
import { api as connect, loadConfig, Session, type Api, type PageConfig } from "./rpc";
import { confirmation, keptBooking, manageExisting } from "./views/done";
import { eligibility } from "./views/eligibility";
import { verifyPerson, type Verified } from "./views/identity";
import { searchAndBook } from "./views/search";
import { waitingRoom } from "./views/waiting";

let admitted = false;

async function book(api: Api, session: Session, config: PageConfig): Promise<void> {
  const kept = keptBooking();
  if (kept) {
    admitted = true;
    await confirmation(api, session, config, kept);
  }
  // Someone who booked already (on another device, say) goes to the changes line instead:
  // a plain link, so leaving this line stops its polling; the place here is kept on the device.
  const manage = h("p", {}, h("a", { id: "manage-existing", href: "?manage" }, t("manage_existing")));
  await waitingRoom(api, session, config.queue, manage);
  admitted = true;
  const who = h("fieldset", { class: "who" }, h("legend", {}, t("who")),
    h("div", {}, h("input", { type: "radio", name: "who", id: "who-me", value: "me", checked: true }), h("label", { for: "who-me" }, t("who_me"))),
    h("div", {}, h("input", { type: "radio", name: "who", id: "who-parent", value: "parent" }), h("label", { for: "who-parent" }, t("who_parent"))));
  const consent = h("div", { class: "field", hidden: true }, h("input", { type: "checkbox", id: "consent" }), h("label", { for: "consent" }, t("consent")));
  const form = h("form", {}, who, consent, h("button", { type: "submit", id: "who-continue" }, t("continue")));
  const host = show("step_identity", t("identity_h"), form);
  who.addEventListener("change", () => {
    const parent = (document.getElementById("who-parent") as HTMLInputElement).checked;
    consent.hidden = !parent;
    (document.getElementById("consent") as HTMLInputElement).required = parent;
  });
  await new Promise<void>((resolve) => form.addEventListener("submit", (e) => (e.preventDefault(), resolve()), { once: true }));
  const forParent = (document.getElementById("who-parent") as HTMLInputElement).checked;
  form.remove();
  let agent: Verified | undefined;
  if (forParent) agent = await verifyPerson(api, config, host, t("me_first"), "agent");
  const subject = await verifyPerson(api, config, host, forParent ? t("parent_now") : t("verify_self"), forParent ? "parent" : "me");
  await eligibility(api, subject, agent);
  const reservation = await searchAndBook(api, async (slotId) => {
    const key = `web-${crypto.randomUUID()}`;
    const booked = await api.reservation.createReservation({
      idempotencyKey: key, slotId, identityAssertion: subject.assertion, agentAssertion: agent?.assertion ?? "",
      doseNumber: 1, contactPhone: (agent ?? subject).phone,
    });
    if (!booked.reservation) throw new Error("no reservation in the answer");
    return booked.reservation;
  });
  await confirmation(api, session, config, reservation);
}

function chrome(): void {
  document.documentElement.lang = currentLang();
  document.getElementById("title")!.textContent = t("title");
  document.getElementById("skip")!.textContent = t("skip");
  document.getElementById("steps")!.setAttribute("aria-label", t("steps"));
  for (const item of document.querySelectorAll<HTMLElement>("#steps li")) item.textContent = t(item.dataset.step as Parameters<typeof t>[0]);
  const toggle = document.getElementById("lang") as HTMLButtonElement;
  toggle.textContent = t("lang_switch");
  toggle.lang = currentLang() === "ko" ? "en" : "ko";
}

async function main(): Promise<void> {
  chrome();
  // Before admission a reload loses nothing (the ticket is kept), so the whole page changes language;
  // after it, the rest of the way is in the chosen language.
  document.getElementById("lang")!.addEventListener("click", () => {
    setLang(currentLang() === "ko" ? "en" : "ko");
    if (admitted) chrome();
    else location.reload();
  });
  const config = await loadConfig();
  const session = new Session(clientId(), await DeviceKey.load());
  const api = connect(config, session);
  try {
    if (new URLSearchParams(location.search).has("manage")) await manageExisting(api, session, config, () => (admitted = true));
    else await book(api, session, config);
  } catch (e) {
    const again = h("button", { type: "button", onclick: () => location.reload() }, t("retry"));
    show("step_queue", t("error"), alertBox(sessionEnded(e) ? t("manage_note") : explain(e)), again);
  }
}

void main();
