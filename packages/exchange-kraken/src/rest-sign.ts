import { createHash, createHmac } from 'node:crypto';

/**
 * Kraken's private REST signature (docs.kraken.com, "Spot REST Authentication"): the `API-Sign`
 * header is base64(HMAC-SHA512(key = base64-decoded API secret, message = URI path +
 * SHA-256(nonce + POST data))). The URI path is the part from "/0/private"; the POST data is the
 * exact form-encoded body sent, nonce included.
 */
export function krakenApiSign(uriPath: string, nonce: string, postData: string, secretBase64: string): string {
  const digest = createHash('sha256').update(nonce + postData).digest();
  return createHmac('sha512', Buffer.from(secretBase64, 'base64'))
    .update(Buffer.concat([Buffer.from(uriPath), digest]))
    .digest('base64');
}
