/**
 * The device's identity: a random client id and an Ed25519 key made by
 * WebCrypto as non-extractable, kept in IndexedDB so that a reload signs
 * with the same key. The waiting room binds the place in line and every
 * pass to this key (`cnf.jkt`), so a copied ticket or pass is useless on
 * another device: script on the page can sign with the key but never read
 * it (crates/yeyak-platform/src/tokens/dpop).
 */
const DB = "yeyak-device";
const STORE = "keys";
const CLIENT_ID = "yeyak.clientId";

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** SHA-256 of `text`, base64url: the proof's `ath` for a pass. */
export async function sha256b64(text: string): Promise<string> {
  return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text))));
}

/** The client id, made once per browser profile (16–128 of [A-Za-z0-9_-]). */
export function clientId(): string {
  let id = localStorage.getItem(CLIENT_ID);
  if (!id || !/^[A-Za-z0-9_-]{16,128}$/.test(id)) {
    id = "web-" + b64url(crypto.getRandomValues(new Uint8Array(18)));
    localStorage.setItem(CLIENT_ID, id);
  }
  return id;
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function idb<T>(mode: IDBTransactionMode, run: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  return openDb().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const request = run(db.transaction(STORE, mode).objectStore(STORE));
        request.onsuccess = () => resolve(request.result as T);
        request.onerror = () => reject(request.error);
      }),
  );
}

export class DeviceKey {
  private constructor(
    private readonly pair: CryptoKeyPair,
    private readonly header: string,
  ) {}

  /** The stored key, or a new one (stored before it is used). */
  static async load(): Promise<DeviceKey> {
    let pair = await idb<CryptoKeyPair | undefined>("readonly", (s) => s.get("device")).catch(() => undefined);
    if (!pair) {
      pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"])) as CryptoKeyPair;
      await idb("readwrite", (s) => s.put(pair, "device")).catch(() => undefined);
    }
    const x = b64url(new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)));
    const header = { typ: "dpop+jwt", alg: "EdDSA", jwk: { kty: "OKP", crv: "Ed25519", x } };
    return new DeviceKey(pair, b64url(utf8(JSON.stringify(header))));
  }

  /** A proof for one call of `method` (`/package.Service/Method`), bound to `pass` when there is one. */
  async proof(method: string, pass?: string): Promise<string> {
    const claims: Record<string, unknown> = {
      jti: b64url(crypto.getRandomValues(new Uint8Array(12))),
      htm: "POST",
      htu: method,
      iat: Math.floor(Date.now() / 1000),
    };
    if (pass) claims.ath = await sha256b64(pass);
    const input = `${this.header}.${b64url(utf8(JSON.stringify(claims)))}`;
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, this.pair.privateKey, utf8(input));
    return `${input}.${b64url(new Uint8Array(signature))}`;
  }
}

/**
 * The proof of work a queue may ask for a new entry (docs/stuffing.md):
 * the first counter whose SHA-256 over the challenge and the client id
 * starts with `bits` zero bits.
 */
export async function solveJoinChallenge(challenge: string, client: string, bits: number): Promise<string> {
  const prefix = utf8("yeyak-join-pow/v1");
  const c = utf8(challenge);
  const k = utf8(client);
  const buf = new Uint8Array(prefix.length + 4 + c.length + 4 + k.length + 8);
  const view = new DataView(buf.buffer);
  buf.set(prefix, 0);
  let at = prefix.length;
  view.setUint32(at, c.length);
  buf.set(c, at + 4);
  at += 4 + c.length;
  view.setUint32(at, k.length);
  buf.set(k, at + 4);
  at += 4 + k.length;
  for (let counter = 0; ; counter++) {
    view.setBigUint64(at, BigInt(counter));
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
    if (leadingZeroBits(hash) >= bits) return String(counter);
  }
}

function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}
