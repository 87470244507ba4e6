// Helpers of the browser test (booking.mjs): the browser, the checks every
// step gets (accessibility, narrow screen, screenshot), the bytes the
// browser transferred, the mock phone, and the line to the Rust harness.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set (tests/tests/browser.rs sets it)`);
  return value;
};

/** Debian's Chromium with the flags this machine needs (never a tool's own download). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.YEYAK_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A phone-sized context: 360 px wide, Korean locale, the service's time zone. */
export const phone = (browser) =>
  browser.newContext({ viewport: { width: 360, height: 740 }, locale: "ko-KR", timezoneId: "Asia/Seoul", deviceScaleFactor: 1 });

/** Counts the bytes the browser received on the wire for `page` (headers and compressed bodies). */
export async function meter(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => (bytes += e.encodedDataLength));
  return () => bytes;
}

let shot = 0;
/** Every step: no serious accessibility violation (axe-core), no sideways scrolling on a phone, a screenshot. */
export async function check(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), [], `accessibility of ${name}`);
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `${name}: ${scroll} px wide on a ${width} px screen`);
  shot += 1;
  const path = `${env("YEYAK_ARTEFACTS")}/${String(shot).padStart(2, "0")}-${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`step ${name}: axe clean (${result.violations.length} minor), screenshot ${path}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the mock provider's phone shows for `number`: the latest code, read as a person reads their phone. */
export async function codeFor(idp, number, after = "") {
  for (let i = 0; i < 50; i++) {
    const response = await fetch(`${idp}/v1/inbox/${number}`);
    if (response.ok) {
      const body = await response.json();
      if (body.transaction_id !== after) return body;
    }
    await sleep(100);
  }
  throw new Error(`no code reached ${number}`);
}

/** The SMS the gateway recorded for `number`. */
export async function sms(gateway, number) {
  const body = await (await fetch(`${gateway}/v1/messages?to=${number}`)).json();
  return (body.messages ?? []).map((m) => m.text);
}

export async function until(what, probe, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `${what} within ${ms / 1000} s`);
    await sleep(200);
  }
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
/** Asks the harness to act (pause or resume the line, fill a slot) and waits for it to be done. */
export async function control(request) {
  console.log(`@control ${JSON.stringify(request)}`);
  const { value, done } = await lines.next();
  assert.ok(!done, "the harness closed the control line");
  const reply = JSON.parse(value);
  assert.ok(reply.ok, `control ${JSON.stringify(request)}: ${reply.error}`);
  return reply;
}

/** Presses Tab until `selector` has focus: it is reachable by keyboard, in order. */
export async function tabTo(page, selector, presses = 30) {
  for (let i = 0; i < presses; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press("Tab");
  }
  assert.fail(`${selector} not reached with ${presses} presses of Tab`);
}
