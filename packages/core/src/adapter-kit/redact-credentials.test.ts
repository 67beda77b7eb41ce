/**
 * redactCredentials is the pattern scrubber every adapter runs venue error text through before it
 * becomes a rejection's text (journaled, exported in the OTel ack span) or a failed read's error
 * (/status, /health/ready). ccxt's errors carry the full request URL: htx and bittrade sign in the
 * query string (AccessKeyId=<api key>), and a proxy's user and password ride in rest_url.
 */
import { describe, expect, it } from 'vitest';
import { redactCredentials, VenueErrorMap } from './errors.js';

const KEY = 'SEKRET-apikey-xyz-123';
const PASS = 'SEKRET-proxypass-xyz-123';

describe('redactCredentials: keys in query strings and URL credentials', () => {
  it('masks the api key ccxt venues sign with in the query string (htx, bittrade and others)', () => {
    const htx = `htx GET https://api.huobi.pro/v1/order/orders?AccessKeyId=${KEY}&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2024-01-01T00%3A00%3A00&Signature=abc%2Bdef 502 Bad Gateway <html>502</html>`;
    const out = redactCredentials(htx);
    expect(out).not.toContain(KEY);
    expect(out).not.toContain('abc%2Bdef');
    // the rest of the message is kept for the operator
    expect(out).toContain('SignatureMethod=HmacSHA256');
    expect(out).toContain('502 Bad Gateway');
    for (const name of ['api_key', 'apikey', 'access_key', 'accessKey', 'access_id', 'AccessKeyId', 'accesskeyid', 'key', 'token']) {
      expect(redactCredentials(`GET https://venue.example/x?symbol=BTC&${name}=${KEY}&ts=1`), name).toBe(`GET https://venue.example/x?symbol=BTC&${name}=[redacted]&ts=1`);
    }
  });

  it('masks API-key headers and fields of other venues', () => {
    for (const header of ['X-MBX-APIKEY', 'X-MEXC-APIKEY', 'X-BAPI-API-KEY', 'KC-API-KEY', 'OK-ACCESS-KEY', 'CB-ACCESS-KEY', 'AccessKeyId', 'api_key']) {
      expect(redactCredentials(`{"${header}":"${KEY}"}`), header).not.toContain(KEY);
      expect(redactCredentials(`${header}: ${KEY}`), header).not.toContain(KEY);
    }
  });

  it('masks the user and password of a URL (a proxy in rest_url)', () => {
    const out = redactCredentials(`binance DELETE http://trader:${PASS}@127.0.0.1:8443/api/v3/order?symbol=BTCUSDT&signature=abc 503 Service Unavailable`);
    expect(out).not.toContain(PASS);
    expect(out).not.toContain('trader:');
    expect(out).toBe('binance DELETE http://[redacted]@127.0.0.1:8443/api/v3/order?symbol=BTCUSDT&signature=[redacted] 503 Service Unavailable');
  });

  it("a venue error map's text carries neither", () => {
    const m = new VenueErrorMap('htx', [{ code: 'x', reason: 'INVALID_ORDER' }]);
    const text = m.map(undefined, `GET http://u:${PASS}@127.0.0.1:1/v1/order?AccessKeyId=${KEY}&Signature=s`).text;
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(PASS);
  });
});
