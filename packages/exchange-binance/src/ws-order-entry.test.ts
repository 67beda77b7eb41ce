import { generateKeyPairSync, verify } from 'node:crypto';
import { Secret } from '@cwts/core/config';
import { describe, expect, it } from 'vitest';
import { binanceSigner } from './ws-order-entry.js';

describe('binanceSigner', () => {
  it("reproduces the HMAC example of Binance's web-socket-api.md (SIGNED request example (HMAC))", () => {
    // the documented example key and payload (illustrative values published by Binance, not a real key)
    const secret = new Secret('NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j');
    const payload =
      'apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&newOrderRespType=ACK&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC&timestamp=1645423376532&type=LIMIT';
    const s = binanceSigner(secret);
    expect(s.kind).toBe('hmac');
    expect(s.sign(payload)).toBe('cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a');
  });

  it('signs with an Ed25519 PKCS#8 PEM key: base64, verifiable with the public key', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const s = binanceSigner(new Secret(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()));
    expect(s.kind).toBe('ed25519');
    const sig = s.sign('apiKey=k&symbol=BTCUSDT&timestamp=1');
    expect(verify(null, Buffer.from('apiKey=k&symbol=BTCUSDT&timestamp=1'), publicKey, Buffer.from(sig, 'base64'))).toBe(true);
    expect(verify(null, Buffer.from('apiKey=k&symbol=BTCUSDT&timestamp=2'), publicKey, Buffer.from(sig, 'base64'))).toBe(false);
  });

  it('refuses an RSA key and an unreadable PEM, without echoing the key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => binanceSigner(new Secret(rsa))).toThrow(/rsa key; order entry signs with HMAC-SHA256 or Ed25519/);
    const broken = '-----BEGIN PRIVATE KEY-----\nnot-a-key-SECRET-4711\n-----END PRIVATE KEY-----';
    expect(() => binanceSigner(new Secret(broken))).toThrow(/cannot be read/);
    expect(() => binanceSigner(new Secret(broken))).not.toThrow(/SECRET-4711/);
  });
});
