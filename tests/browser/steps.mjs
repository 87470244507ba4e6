// What a person does on each step of the page (booking.mjs strings them together).
import assert from "node:assert/strict";
import { codeFor, env, until } from "./lib.mjs";

const idps = () => JSON.parse(env("YEYAK_IDP_URLS"));

/** Verifies `person` in the identity form whose ids start with `prefix`, with the SMS-code provider. */
export async function verify(page, prefix, person) {
  await page.locator(`#${prefix}-provider-carrier-sms`).check();
  await page.fill(`#${prefix}-name`, person.name);
  await page.fill(`#${prefix}-rrn`, person.rrn);
  await page.fill(`#${prefix}-phone`, person.phone);
  const before = await fetch(`${idps()["carrier-sms"]}/v1/inbox/${person.phone}`).then((r) => (r.ok ? r.json() : {}));
  await page.click(`#${prefix}-send`);
  await page.waitForSelector(`#${prefix}-code`);
  const { code } = await codeFor(idps()["carrier-sms"], person.phone, before.transaction_id ?? "");
  await page.fill(`#${prefix}-code`, code);
  await page.click(`#${prefix}-confirm`);
}

/** Waits for the identity step after the line, proving the page got there (its first control). */
export async function admitted(page, ms = 30_000) {
  await page.waitForSelector("#who-continue, #manage-send", { timeout: ms });
}

/**
 * Searches province by province and vaccine by vaccine until a clinic has
 * places, opens its times and returns the bookable slot buttons' ids.
 */
export async function findSlots(page) {
  await page.waitForSelector("#region option", { state: "attached" });
  const provinces = await page.$$eval("#region option", (os) => os.map((o) => o.value));
  for (const province of provinces) {
    for (const vaccine of ["pfizer", "moderna", "az", "janssen"]) {
      await page.selectOption("#region", province);
      await page.selectOption("#vaccine", vaccine);
      await page.click("#search");
      const found = await page.waitForSelector("#clinics li button, #no-clinics");
      if ((await found.getAttribute("id")) === "no-clinics") continue;
      await page.click("#clinics li button");
      await page.waitForSelector("#slots [data-slot]");
      const open = await page.$$eval("#slots [data-slot]:not([disabled])", (bs) => bs.map((b) => b.dataset.slot));
      if (open.length >= 2) return open;
    }
  }
  assert.fail("no clinic with two open times");
}

/** Books the first open time that is not `except`; the booking code shown. */
export async function bookOther(page, except) {
  const open = await until("the clinic's open times", () =>
    page.$$eval("#slots [data-slot]:not([disabled])", (bs, x) => bs.map((b) => b.dataset.slot).filter((s) => !x.includes(s)), except).then((s) => s.length && s),
  );
  await page.click(`#slots [data-slot="${open[0]}"]`);
  await page.waitForSelector("#booking-code");
  return { slot: open[0], code: (await page.textContent("#booking-code")).trim() };
}
