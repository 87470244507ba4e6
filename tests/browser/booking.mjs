// The citizen page in Debian's Chromium, as people use it (tests/tests/browser.rs
// starts the stack, the edge and the static server, and runs this script):
// 1. the waiting room keeps the place over a reload, never lets an offline page
//    skip the line and resumes when the connection is back; then a booking end to
//    end, with a slot that fills up meanwhile, exactly one SMS, a reload that shows
//    the booking again, a change and a cancellation;
// 2. someone the registry does not insure sees why, in English;
// 3. a child books for a parent, by keyboard, within the weight budget; the parent,
//    on another device, finds the booking from the first screen and cancels it.
// Every step is checked with axe-core and screenshotted into $YEYAK_ARTEFACTS.
import assert from "node:assert/strict";
import { check, control, env, launch, meter, phone, sms, tabTo, until } from "./lib.mjs";
import { admitted, bookOther, findSlots, verify } from "./steps.mjs";

const PAGE = env("YEYAK_PAGE_URL");
const GATEWAY = env("YEYAK_SMS_GATEWAY_URL");
const people = JSON.parse(env("YEYAK_PEOPLE"));
const KB = 1024;

async function waitingRoomAndBooking(browser) {
  const context = await phone(browser);
  const page = await context.newPage();
  await control({ op: "pause" });
  await page.goto(PAGE);
  await page.waitForSelector('#queue[data-state="WAITING"]');
  const place = (await page.textContent("#queue-position")).trim();
  assert.match(await page.textContent("#queue-wait"), /알 수 없음/, "a paused line gives no estimate, and says so");
  await check(page, "waiting-room");

  await page.reload();
  await page.waitForSelector('#queue[data-state="WAITING"]');
  assert.equal((await page.textContent("#queue-position")).trim(), place, "a reload keeps the place in line");

  await context.setOffline(true);
  await control({ op: "resume" });
  await page.waitForSelector('#queue[data-offline="true"]', { timeout: 30_000 });
  await page.waitForTimeout(3_000);
  assert.equal(await page.$("#who-continue"), null, "offline, the page never moves past the line by itself");
  assert.match(await page.textContent("#queue-notice"), /연결이 끊겼습니다/);
  await check(page, "waiting-offline");
  await context.setOffline(false);
  await admitted(page);
  console.log(`place ${place} kept over a reload and an outage; admitted once back online`);

  await check(page, "identity-choice");
  await page.click("#who-continue");
  await page.waitForSelector("#me-send");
  await check(page, "identity");
  await verify(page, "me", people.me);
  await page.waitForSelector("#eligible");
  await check(page, "eligible");
  await page.click("#eligibility-continue");
  await page.waitForSelector("#search");
  const open = await findSlots(page);
  await check(page, "search");

  const { booked } = await control({ op: "fill", slot_id: open[0] });
  console.log(`others took the ${booked} places left in ${open[0]}`);
  await page.click(`#slots [data-slot="${open[0]}"]`);
  await page.waitForSelector("#slots .alert");
  assert.match(await page.textContent("#slots .alert"), /마감/, "a full slot is said plainly");
  await check(page, "slot-full");
  const first = await bookOther(page, [open[0]]);
  await check(page, "confirmation");

  const texts = await until("the SMS of the booking", async () => (await sms(GATEWAY, people.me.phone)).length > 0 && sms(GATEWAY, people.me.phone));
  await page.waitForTimeout(2_000);
  const again = await sms(GATEWAY, people.me.phone);
  assert.equal(again.length, 1, `exactly one SMS: ${JSON.stringify(again)}`);
  assert.ok(texts[0].includes(first.code), `the SMS names the booking ${first.code}: ${texts[0]}`);
  console.log(`booked ${first.code}; the gateway recorded one SMS`);
  await page.reload();
  await page.waitForSelector("#booking-code");
  assert.equal((await page.textContent("#booking-code")).trim(), first.code, "a reload after booking shows the booking, not a new place in line");

  // A change, then a cancellation, through the line for changes (a booking ends its session).
  await page.click("#manage");
  await page.waitForSelector("#manage-send", { timeout: 30_000 });
  await verify(page, "manage", people.me);
  await page.click("#reschedule");
  await page.waitForSelector("#search");
  await findSlots(page);
  const moved = await bookOther(page, [open[0], first.slot]);
  assert.equal(moved.code, first.code, "a change keeps the reservation number");
  await check(page, "rescheduled");
  // A change does not end the session of the changes line: no line, no verification again.
  await page.click("#manage");
  await page.click("#cancel");
  await page.waitForSelector("#cancelled");
  await check(page, "cancelled");
  await context.close();
}

async function notEligibleInEnglish(browser) {
  const context = await phone(browser);
  const page = await context.newPage();
  const received = await meter(page);
  await control({ op: "pause" });
  await page.goto(PAGE);
  await page.waitForSelector('#queue[data-state="WAITING"]');
  await page.click("#lang");
  await page.waitForSelector('html[lang="en"] #queue[data-state="WAITING"]');
  assert.equal((await page.textContent("h2")).trim(), "You are in line");
  await control({ op: "resume" });
  await admitted(page);
  await page.click("#who-continue");
  await page.waitForSelector("#me-provider-carrier-sms");
  const beforeVerification = received();
  assert.ok(beforeVerification < 100 * KB, `before identity verification: ${beforeVerification} bytes, budget 100 KB`);
  await verify(page, "me", people.uninsured);
  await page.waitForSelector("#not-eligible");
  assert.equal(await page.getAttribute("#not-eligible", "data-reason"), "NOT_INSURED");
  assert.match(await page.textContent("#not-eligible"), /health insurance could not be confirmed/);
  await check(page, "not-eligible-en");
  console.log(`before verification the browser received ${beforeVerification} bytes`);
  await context.close();
}

async function proxyByKeyboard(browser) {
  const context = await phone(browser);
  const page = await context.newPage();
  const received = await meter(page);
  await page.goto(PAGE);
  await admitted(page);
  await tabTo(page, "#who-me");
  await page.keyboard.press("ArrowDown");
  assert.ok(await page.isChecked("#who-parent"), "arrow keys move within the choice");
  await tabTo(page, "#consent");
  await page.keyboard.press("Space");
  await tabTo(page, "#who-continue");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#agent-send");
  await verify(page, "agent", people.agent);
  await page.waitForSelector("#parent-send");
  await check(page, "proxy-identity");
  await verify(page, "parent", people.parent);
  await page.waitForSelector("#eligible");
  await page.click("#eligibility-continue");
  await page.waitForSelector("#search");
  await findSlots(page);
  const booked = await bookOther(page, []);
  await check(page, "proxy-confirmation");
  const texts = await until("the proxy booking's SMS", async () => (await sms(GATEWAY, people.agent.phone)).find((t) => t.includes(booked.code)));
  assert.ok(texts);
  const total = received();
  assert.ok(total < 250 * KB, `the whole page, a booking included: ${total} bytes, budget 250 KB`);
  console.log(`proxy booking ${booked.code}; the browser received ${total} bytes in all`);
  await context.close();

  // The parent, on a device of their own (nothing kept from the booking), finds it from the
  // first screen through the changes line, and cancels it.
  const own = await phone(browser);
  const elsewhere = await own.newPage();
  await elsewhere.goto(PAGE);
  await elsewhere.click("#manage-existing");
  await elsewhere.waitForSelector("#manage-send", { timeout: 30_000 });
  await verify(elsewhere, "manage", people.parent);
  await elsewhere.waitForSelector("#booking-code");
  assert.equal((await elsewhere.textContent("#booking-code")).trim(), booked.code, "the booking found by verifying alone");
  await check(elsewhere, "manage-existing");
  await elsewhere.click("#cancel");
  await elsewhere.waitForSelector("#cancelled");
  console.log(`the parent found ${booked.code} from the first screen on another device and cancelled it`);
  await own.close();
}

const browser = await launch();
/** On failure: what each open page shows (its alerts and a screenshot). */
async function leaveEvidence() {
  for (const [i, page] of browser.contexts().flatMap((c) => c.pages()).entries()) {
    const alerts = await page.$$eval("[role=alert], .notice", (es) => es.map((e) => e.textContent)).catch(() => []);
    console.error(`page ${i} at ${page.url()}: ${JSON.stringify(alerts)}`);
    await page.screenshot({ path: `${env("YEYAK_ARTEFACTS")}/failure-${i}.png`, fullPage: true }).catch(() => undefined);
  }
}
try {
  await waitingRoomAndBooking(browser);
  await notEligibleInEnglish(browser);
  await proxyByKeyboard(browser);
  console.log("browser: every scenario passed");
} catch (e) {
  console.error(e);
  await leaveEvidence();
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}
