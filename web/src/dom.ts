/** A few DOM helpers instead of a framework: the page stays small. */
import { currentLang, t, type Key } from "./i18n";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | ((e: Event) => void) | undefined>;

/** An element with attributes (`on…` are listeners, `true` is a bare attribute) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, value);
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** A labelled field: the label names the input for screen readers. */
export function field(id: string, label: string, input: HTMLElement): HTMLElement {
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

const main = (): HTMLElement => document.getElementById("main") as HTMLElement;

/**
 * Shows a step: marks it current in the step list, replaces the content and
 * moves focus to its heading, so keyboard and screen-reader users start at
 * the top of the new step.
 */
export function show(step: Key, heading: string, ...content: Child[]): HTMLElement {
  const title = h("h2", { tabindex: "-1", id: "step-title" }, heading);
  main().replaceChildren(title, ...content.filter((c): c is Node | string => !!c));
  for (const item of document.querySelectorAll<HTMLElement>("#steps li")) {
    if (item.dataset.step === step) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  document.title = `${heading} · ${t("title")}`;
  title.focus();
  return main();
}

/** Read out by screen readers without moving focus (queue position changes). */
export function announce(text: string): void {
  const live = document.getElementById("live");
  if (live && live.textContent !== text) live.textContent = text;
}

/** An error box read out at once. */
export function alertBox(text: string): HTMLElement {
  return h("p", { class: "alert", role: "alert" }, text);
}

const zone = "Asia/Seoul";
const locale = (): string => (currentLang() === "en" ? "en-GB" : "ko-KR");

/** A date and time as people in Korea read it (the service's time zone, whatever the device's). */
export function seoulDateTime(d: Date): string {
  return d.toLocaleString(locale(), { timeZone: zone, dateStyle: "medium", timeStyle: "short" });
}

export function seoulTime(d: Date): string {
  return d.toLocaleTimeString(locale(), { timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** Today in Seoul plus `days`, as "YYYY-MM-DD". */
export function seoulDate(days = 0): string {
  return new Date(Date.now() + days * 86_400_000).toLocaleDateString("en-CA", { timeZone: zone });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the next submit of `form` (the default action prevented). */
export function submitted(form: HTMLFormElement): Promise<void> {
  return new Promise((resolve) =>
    form.addEventListener(
      "submit",
      (e) => {
        e.preventDefault();
        resolve();
      },
      { once: true },
    ),
  );
}
