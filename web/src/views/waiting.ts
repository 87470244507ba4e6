/**
 * The waiting room. The place in line is the signed ticket, kept in
 * localStorage: a reload or a lost connection rejoins with it and gets the
 * same place (reconnecting never makes the wait longer). The page moves on
 * only with a pass the server issued; offline it keeps the place, says so
 * and checks again when the connection is back, never sooner than the
 * server's `next_poll_after`.
 */
import { Code } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { QueueState, type QueueStatus } from "../../gen/yeyak/admission/v1/admission_pb";
import { solveJoinChallenge } from "../device";
import { announce, h, seoulDateTime, seoulTime, show, sleep } from "../dom";
import { asConnect, explain, isNetwork, retryAfter } from "../errors";
import { t } from "../i18n";
import type { Api, Session } from "../rpc";

const ticketKey = (queue: string): string => `yeyak.ticket.${queue}`;

/** Resolves once admitted to `queue`, with `session.pass` set; `aside` is shown below the line. */
export async function waitingRoom(api: Api, session: Session, queue: string, aside?: HTMLElement): Promise<void> {
  const view = new QueueView(aside);
  for (;;) {
    const ticket = await join(api, session, queue, view);
    const admitted = await poll(api, session, ticket, view);
    if (admitted) return;
    localStorage.removeItem(ticketKey(queue)); // the session of that ticket ended: a new place
  }
}

async function join(api: Api, session: Session, queue: string, view: QueueView): Promise<string> {
  const key = ticketKey(queue);
  for (let attempt = 0; ; attempt++) {
    const existing = localStorage.getItem(key) ?? "";
    try {
      const headers = existing ? undefined : await workProof(api, session, queue, view);
      const joined = await api.admission.joinQueue({ queueId: queue, clientId: session.clientId, existingTicket: existing }, { headers });
      localStorage.setItem(key, joined.ticket);
      if (joined.status) view.update(joined.status);
      return joined.ticket;
    } catch (e) {
      const err = asConnect(e);
      if (isNetwork(e)) await view.offline(backoff(attempt));
      else if (err.code === Code.ResourceExhausted) await view.busy(retryAfter(e, 5));
      else if (existing && (err.code === Code.InvalidArgument || err.code === Code.Unauthenticated)) localStorage.removeItem(key);
      else await view.failed(explain(e), backoff(attempt));
    }
  }
}

/** The proof of work a queue may ask of a new entry (none by default). */
async function workProof(api: Api, session: Session, queue: string, view: QueueView): Promise<HeadersInit | undefined> {
  const challenge = await api.admission.getJoinChallenge({ queueId: queue });
  if (challenge.difficultyBits === 0) return undefined;
  view.note(t("queue_work"));
  const solution = await solveJoinChallenge(challenge.challenge, session.clientId, challenge.difficultyBits);
  return { "yeyak-join-challenge": challenge.challenge, "yeyak-join-solution": solution };
}

/** Polls at the server's pace; true once admitted, false if the ticket's session has ended. */
async function poll(api: Api, session: Session, ticket: string, view: QueueView): Promise<boolean> {
  for (let failures = 0; ; ) {
    const status = view.status;
    if (status?.state === QueueState.ADMITTED && status.admissionPass) {
      session.pass = status.admissionPass;
      announce(t("admitted"));
      return true;
    }
    if (status?.state === QueueState.SESSION_ENDED) return false;
    await view.untilNextPoll();
    try {
      const answer = await api.admission.getQueueStatus({ ticket, clientId: session.clientId });
      failures = 0;
      if (answer.status) view.update(answer.status);
    } catch (e) {
      failures++;
      if (isNetwork(e)) await view.offline(backoff(failures));
      else if (asConnect(e).code === Code.ResourceExhausted) await view.busy(retryAfter(e, 5));
      else await view.failed(explain(e), backoff(failures));
    }
  }
}

const backoff = (attempt: number): number => Math.min(30, 2 ** Math.min(attempt, 5));

/** The waiting room's screen, updated in place so focus stays where the person left it. */
class QueueView {
  status?: QueueStatus;
  private readonly position = h("dd", { id: "queue-position" });
  private readonly ahead = h("dd", { id: "queue-ahead" });
  private readonly wait = h("dd", { id: "queue-wait" });
  private readonly next = h("dd", { id: "queue-next" });
  private readonly notice = h("p", { id: "queue-notice", role: "status", class: "notice", hidden: true });

  constructor(aside?: HTMLElement) {
    show(
      "step_queue",
      t("queue_h"),
      h("p", {}, t("queue_intro")),
      h("dl", { class: "queue", id: "queue" },
        h("dt", {}, t("queue_position")), this.position,
        h("dt", {}, t("queue_ahead")), this.ahead,
        h("dt", {}, t("queue_wait")), this.wait,
        h("dt", {}, t("queue_next_poll")), this.next),
      this.notice,
      aside,
    );
    this.position.textContent = t("starting");
  }

  update(status: QueueStatus): void {
    this.status = status;
    this.position.textContent = status.position.toLocaleString();
    this.ahead.textContent = status.peopleAhead.toLocaleString();
    const seconds = status.estimatedWaitSeconds;
    this.wait.textContent =
      seconds === undefined
        ? `${t("queue_wait_unknown")}${status.estimateUnknownReason ? ` (${status.estimateUnknownReason})` : ""}`
        : Number(seconds) >= 90 ? t("minutes", { n: Math.round(Number(seconds) / 60) }) : t("seconds", { n: Number(seconds) });
    this.next.textContent = status.nextPollAfter ? seoulTime(timestampDate(status.nextPollAfter)) : "—";
    if (status.state === QueueState.PRE_OPENING && status.opensAt) this.note(t("queue_pre_opening", { opens: seoulDateTime(timestampDate(status.opensAt)) }));
    else if (status.admissionSlowed) this.note(t("queue_slowed"));
    else this.note("");
    document.getElementById("queue")?.setAttribute("data-state", QueueState[status.state] ?? "");
    announce(t("queue_announce", { position: this.position.textContent, ahead: this.ahead.textContent }));
  }

  note(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  /** Waits until the server's next poll time (at least 1 s, at most 60 s). */
  async untilNextPoll(): Promise<void> {
    const at = this.status?.nextPollAfter ? timestampDate(this.status.nextPollAfter).getTime() : Date.now() + 1000;
    await sleep(Math.min(60_000, Math.max(1000, at - Date.now())));
  }

  /** Offline: the place is kept; wait for the connection (or `seconds`), whichever comes first. */
  async offline(seconds: number): Promise<void> {
    this.note(t("queue_offline"));
    document.getElementById("queue")?.setAttribute("data-offline", "true");
    await Promise.race([sleep(seconds * 1000), new Promise((resolve) => window.addEventListener("online", resolve, { once: true }))]);
    document.getElementById("queue")?.removeAttribute("data-offline");
  }

  async busy(seconds: number): Promise<void> {
    this.note(t("queue_busy", { seconds }));
    await sleep(seconds * 1000);
  }

  async failed(message: string, seconds: number): Promise<void> {
    this.note(message);
    await sleep(seconds * 1000);
  }
}
