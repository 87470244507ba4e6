/**
 * The page's calls: gRPC-Web through yeyak-edge (docs/edge.md), with the
 * same metadata a native client sends. Every call behind the waiting room
 * carries the pass, the client id and a fresh device proof for exactly that
 * method; the edge adds nothing and the services check everything.
 */
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AdmissionService } from "../gen/yeyak/admission/v1/admission_pb";
import { EligibilityService } from "../gen/yeyak/eligibility/v1/eligibility_pb";
import { IdentityService } from "../gen/yeyak/identity/v1/identity_pb";
import { InventoryService } from "../gen/yeyak/inventory/v1/inventory_pb";
import { ReservationService } from "../gen/yeyak/reservation/v1/reservation_pb";
import { DeviceKey } from "./device";

export interface PageConfig {
  /** The edge's base URL. */
  edge: string;
  /** The booking event (admission queue) this page joins. */
  queue: string;
  /**
   * The line for changing or cancelling a booking: a booking ends its
   * session, and identity binds one person to one place per event
   * (docs/stuffing.md), so changes go through an event of their own.
   */
  changes_queue: string;
  /** Dev stacks only: provider id → the mock provider's URL, whose inbox plays the phone. */
  demo_phones?: Record<string, string>;
}

/** What the calls need to know of the person's session; the pass changes as they go. */
export class Session {
  pass = "";
  constructor(
    readonly clientId: string,
    readonly device: DeviceKey,
  ) {}
}

/** Calls that sign a proof without a pass: the join, which binds the place to the key. */
const SIGNED_WITHOUT_PASS = new Set(["JoinQueue"]);

function metadata(session: Session): Interceptor {
  return (next) => async (req) => {
    const path = `/${req.service.typeName}/${req.method.name}`;
    req.header.set("yeyak-client-id", session.clientId);
    if (session.pass && req.service.typeName !== AdmissionService.typeName) {
      req.header.set("yeyak-admission-pass", session.pass);
      req.header.set("yeyak-dpop", await session.device.proof(path, session.pass));
    } else if (SIGNED_WITHOUT_PASS.has(req.method.name)) {
      req.header.set("yeyak-dpop", await session.device.proof(path));
    }
    return next(req);
  };
}

export interface Api {
  admission: Client<typeof AdmissionService>;
  identity: Client<typeof IdentityService>;
  eligibility: Client<typeof EligibilityService>;
  inventory: Client<typeof InventoryService>;
  reservation: Client<typeof ReservationService>;
}

/** One transport for the five public services; each call has a deadline. */
export function api(config: PageConfig, session: Session): Api {
  const transport = createGrpcWebTransport({
    baseUrl: config.edge,
    interceptors: [metadata(session)],
    defaultTimeoutMs: 15_000,
  });
  return {
    admission: createClient(AdmissionService, transport),
    identity: createClient(IdentityService, transport),
    eligibility: createClient(EligibilityService, transport),
    inventory: createClient(InventoryService, transport),
    reservation: createClient(ReservationService, transport),
  };
}

/** `/config.json` from the static server, with the defaults of a dev stack. */
export async function loadConfig(): Promise<PageConfig> {
  const response = await fetch("/config.json", { cache: "no-cache" });
  const body = (await response.json()) as Partial<PageConfig>;
  const queue = body.queue ?? "demo";
  return { edge: body.edge ?? "http://127.0.0.1:8090", queue, changes_queue: body.changes_queue ?? `${queue}-changes`, demo_phones: body.demo_phones };
}
