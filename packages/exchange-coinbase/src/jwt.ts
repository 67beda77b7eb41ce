/**
 * Coinbase Developer Platform (CDP) API key auth: a short-lived JWT signed with the key's EC
 * P-256 private key (ES256). REST requests put it in `Authorization: Bearer`, the WebSocket
 * puts it in the `jwt` field of each subscribe message. Signing uses node:crypto only.
 */
import { createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface CoinbaseJwtInput {
  /** The API key name, `organizations/{org_id}/apiKeys/{key_id}`: the JWT's `kid` and `sub`. */
  keyName: string;
  /** PEM private key (SEC1 "EC PRIVATE KEY" or PKCS#8); Coinbase's JSON key file escapes newlines as \n. */
  privateKey: string | KeyObject;
  /** Seconds since the epoch. */
  nowS: number;
  ttlS: number;
  /** REST only: "METHOD host/path", e.g. "POST api.coinbase.com/api/v3/brokerage/orders". Omitted for the WebSocket. */
  uri?: string;
  /** Random per token; injectable for tests. */
  nonce?: string;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Parses the key once; throws a message that never contains the key. */
export function coinbasePrivateKey(pem: string): KeyObject {
  const text = pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new Error('coinbase api_secret is not a PEM EC private key');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('coinbase api_secret must be an EC P-256 (ES256) private key');
  return key;
}

/**
 * The key as the SEC1 PEM ccxt's ES256 signer reads: it takes only "EC PRIVATE KEY" with all four
 * fields (the public key included), and fails every request with "Unsupported key format" on a
 * PKCS#8 key or a SEC1 one written without its public half (`openssl ec -no_public`), both of
 * which the startup check accepts. Node writes SEC1 only with the fields the key was read with;
 * through JWK (whose export derives x, y from the private scalar) the public key is always there.
 */
export function coinbaseSec1Pem(key: KeyObject): string {
  return createPrivateKey({ key: key.export({ format: 'jwk' }), format: 'jwk' }).export({ type: 'sec1', format: 'pem' }) as string;
}

export function signCoinbaseJwt(input: CoinbaseJwtInput): string {
  const key = typeof input.privateKey === 'string' ? coinbasePrivateKey(input.privateKey) : input.privateKey;
  const header = { alg: 'ES256', kid: input.keyName, nonce: input.nonce ?? randomBytes(16).toString('hex'), typ: 'JWT' };
  const payload: Record<string, unknown> = { iss: 'cdp', sub: input.keyName, nbf: input.nowS, exp: input.nowS + input.ttlS };
  if (input.uri !== undefined) payload.uri = input.uri;
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  // JWS wants the raw r||s form (IEEE P1363), not DER
  const sig = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${b64url(sig)}`;
}

/**
 * A CDP key parsed once: what signs the WebSocket's subscribe tokens. Structured-clonable (a
 * KeyObject crosses to a worker thread as a key, never as text), so an intake worker signs its
 * own subscribes.
 */
export interface CoinbaseWsCredentials {
  keyName: string;
  privateKey: KeyObject;
}

/** A fresh WebSocket token per call (a subscribe's `jwt` field), valid for `ttlS` from `nowMs()`. */
export function coinbaseWsJwt(creds: CoinbaseWsCredentials, nowMs: () => number, ttlS: number): () => string {
  return () => signCoinbaseJwt({ keyName: creds.keyName, privateKey: creds.privateKey, nowS: Math.floor(nowMs() / 1000), ttlS });
}
