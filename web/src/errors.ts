/**
 * What a refused call means to the person: plain words by status code, with
 * the server's own message (which names the field) after them. Internal
 * causes never reach the page; the services do not send them.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { currentLang } from "./i18n";

const words: Record<"ko" | "en", Partial<Record<Code, string>>> = {
  ko: {
    [Code.InvalidArgument]: "입력한 내용을 확인해 주세요.",
    [Code.Unauthenticated]: "인증이 만료되었거나 올바르지 않습니다.",
    [Code.PermissionDenied]: "이 요청은 허용되지 않습니다.",
    [Code.ResourceExhausted]: "요청이 많습니다. 잠시 후 다시 시도해 주세요.",
    [Code.Unavailable]: "서비스에 잠시 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    [Code.DeadlineExceeded]: "응답이 늦어지고 있습니다. 잠시 후 다시 시도해 주세요.",
    [Code.FailedPrecondition]: "지금은 처리할 수 없습니다.",
    [Code.NotFound]: "찾을 수 없습니다.",
    [Code.AlreadyExists]: "이미 처리된 요청입니다.",
  },
  en: {
    [Code.InvalidArgument]: "Please check what you entered.",
    [Code.Unauthenticated]: "Your verification expired or was not accepted.",
    [Code.PermissionDenied]: "This request is not allowed.",
    [Code.ResourceExhausted]: "Too many requests. Please try again shortly.",
    [Code.Unavailable]: "The service cannot be reached right now. Please try again shortly.",
    [Code.DeadlineExceeded]: "The answer is taking too long. Please try again shortly.",
    [Code.FailedPrecondition]: "This cannot be done now.",
    [Code.NotFound]: "Not found.",
    [Code.AlreadyExists]: "This was already done.",
  },
};

export function asConnect(e: unknown): ConnectError {
  return ConnectError.from(e);
}

/** The person's words for a failed call. */
export function explain(e: unknown): string {
  const err = asConnect(e);
  const plain = words[currentLang()][err.code] ?? (currentLang() === "en" ? "Something went wrong." : "문제가 발생했습니다.");
  return err.rawMessage ? `${plain} (${err.rawMessage})` : plain;
}

/** The call never reached a server (offline, the edge unreachable): keep the state and try again. */
export function isNetwork(e: unknown): boolean {
  const err = asConnect(e);
  const offline = !navigator.onLine && [Code.Unknown, Code.Unavailable, Code.Canceled].includes(err.code);
  // Online, a fetch that failed before any answer surfaces as Unknown with the browser's message.
  return offline || (err.code === Code.Unknown && /fetch|network/i.test(err.rawMessage));
}

/** The seconds a refusal asks the caller to wait (RetryInfo or `retry-after`), else `fallback`. */
export function retryAfter(e: unknown, fallback: number): number {
  const header = asConnect(e).metadata.get("retry-after");
  const seconds = header ? Number.parseInt(header, 10) : NaN;
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) : fallback;
}

/** The pass's session ended (the booking ended it, or it expired): rejoin the line. */
export function sessionEnded(e: unknown): boolean {
  const err = asConnect(e);
  return err.code === Code.Unauthenticated && /session ended|pass expired|rejoin/i.test(err.rawMessage);
}

export function slotFull(e: unknown): boolean {
  const err = asConnect(e);
  return err.code === Code.FailedPrecondition && /slot is full/i.test(err.rawMessage);
}
