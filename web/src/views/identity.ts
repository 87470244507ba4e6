/**
 * Identity verification through the provider the person picks. The list
 * shows each provider's live traffic light (refreshed while the form is
 * open); a provider that is down cannot be picked. The resident number goes
 * to identity only and is never kept by the page.
 */
import { ProviderKind, ProviderStatus, type Provider } from "../../gen/yeyak/identity/v1/identity_pb";
import { alertBox, field, h, submitted } from "../dom";
import { explain } from "../errors";
import { t } from "../i18n";
import type { Api, PageConfig } from "../rpc";

export interface Verified {
  assertion: string;
  subjectId: string;
  maskedName: string;
  phone: string;
}

const light: Record<ProviderStatus, ["provider_green" | "provider_yellow" | "provider_red" | "provider_unknown", string]> = {
  [ProviderStatus.GREEN]: ["provider_green", "green"],
  [ProviderStatus.YELLOW]: ["provider_yellow", "yellow"],
  [ProviderStatus.RED]: ["provider_red", "red"],
  [ProviderStatus.UNSPECIFIED]: ["provider_unknown", "grey"],
};

/** Verifies one person inside `host` (the step's content), `intro` saying who. */
export async function verifyPerson(api: Api, config: PageConfig, host: HTMLElement, intro: string, prefix: string): Promise<Verified> {
  const box = h("section", { class: "verify", "aria-labelledby": `${prefix}-intro` }, h("p", { id: `${prefix}-intro` }, intro));
  host.append(box);
  const providers = h("fieldset", { class: "providers" }, h("legend", {}, t("provider")));
  const name = h("input", { autocomplete: "name", required: true, maxlength: "40" });
  const rrn = h("input", { inputmode: "numeric", autocomplete: "off", required: true, pattern: "[0-9]{6}-?[0-9]{7}", maxlength: "14", type: "password" });
  const phone = h("input", { inputmode: "numeric", autocomplete: "tel-national", required: true, pattern: "01[0-9]-?[0-9]{3,4}-?[0-9]{4}", maxlength: "13" });
  const error = h("div", { class: "errors" });
  const form = h("form", { novalidate: false },
    providers,
    field(`${prefix}-name`, t("name"), name),
    field(`${prefix}-rrn`, t("rrn"), rrn),
    field(`${prefix}-phone`, t("phone"), phone),
    error,
    h("button", { type: "submit", id: `${prefix}-send` }, t("send")));
  box.append(form);
  let list: Provider[] = [];
  const refresh = async (): Promise<void> => {
    try {
      list = (await api.identity.listProviders({})).providers;
      renderProviders(providers, list, prefix);
    } catch (e) {
      error.replaceChildren(alertBox(explain(e)));
    }
  };
  await refresh();
  const timer = window.setInterval(() => void refresh(), 10_000);
  try {
    for (;;) {
      await submitted(form);
      const chosen = list.find((p) => p.providerId === (form.querySelector<HTMLInputElement>("input[name=provider]:checked")?.value ?? ""));
      if (!chosen) continue;
      try {
        const started = await api.identity.startVerification({
          providerId: chosen.providerId, name: name.value.trim(), residentRegistrationNumber: rrn.value.trim(), phoneNumber: digits(phone.value),
        });
        rrn.value = "";
        window.clearInterval(timer);
        form.remove();
        const verified = await complete(api, config, box, chosen, started.challengeId, digits(phone.value), prefix);
        box.append(h("p", { class: "ok", role: "status" }, t("verified", { name: verified.maskedName })));
        return verified;
      } catch (e) {
        error.replaceChildren(alertBox(explain(e)));
      }
    }
  } finally {
    window.clearInterval(timer);
  }
}

const digits = (text: string): string => text.replace(/\D/g, "");

function renderProviders(host: HTMLFieldSetElement, list: Provider[], prefix: string): void {
  const checked = host.querySelector<HTMLInputElement>("input:checked")?.value;
  const usable = list.filter((p) => p.status !== ProviderStatus.RED);
  const pick = checked && usable.some((p) => p.providerId === checked) ? checked : usable[0]?.providerId;
  const items = list.map((p) => {
    const [words, colour] = light[p.status] ?? light[ProviderStatus.UNSPECIFIED];
    const id = `${prefix}-provider-${p.providerId}`;
    return h("div", { class: "provider" },
      h("input", { type: "radio", name: "provider", id, value: p.providerId, checked: p.providerId === pick, disabled: p.status === ProviderStatus.RED, required: true }),
      h("label", { for: id }, h("span", { class: `light ${colour}`, "aria-hidden": "true" }), `${p.displayName} — ${t(words)}`));
  });
  host.replaceChildren(host.querySelector("legend") as Node, ...items);
}

/** The second half: the code from the phone, or the approval in the provider's app. */
async function complete(api: Api, config: PageConfig, box: HTMLElement, provider: Provider, challengeId: string, phone: string, prefix: string): Promise<Verified> {
  const sms = provider.kind === ProviderKind.SMS_CODE;
  const code = h("input", { inputmode: "numeric", autocomplete: "one-time-code", required: sms, maxlength: "10" });
  const error = h("div", { class: "errors" });
  const demo = config.demo_phones?.[provider.providerId];
  const form = h("form", {},
    h("p", {}, t(sms ? "code_sent" : "approve_in_app", { provider: provider.displayName })),
    demo ? h("p", {}, h("a", { href: `${demo}/v1/inbox/${phone}`, target: "_blank", rel: "noopener" }, t("demo_phone"))) : null,
    sms ? field(`${prefix}-code`, t("code"), code) : null,
    error,
    h("button", { type: "submit", id: `${prefix}-confirm` }, t("confirm")));
  box.append(form);
  (sms ? code : form.querySelector("button"))?.focus();
  for (;;) {
    await submitted(form);
    try {
      const done = await api.identity.completeVerification({ challengeId, code: code.value.trim() });
      form.remove();
      return { assertion: done.identityAssertion, subjectId: done.subjectId, maskedName: done.maskedName, phone };
    } catch (e) {
      error.replaceChildren(alertBox(explain(e)));
    }
  }
}
