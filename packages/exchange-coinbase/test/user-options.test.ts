import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { describe, expect, it } from 'vitest';
import { COINBASE_USER_WS_URL, createCoinbaseVenue, resolveCoinbaseOptions, validateCoinbaseOptions } from '../src/index.js';

const PEM = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();
const KEY = { api_key: new Secret('organizations/o/apiKeys/k'), api_secret: new Secret(PEM) };
const venue = (cfg: Record<string, unknown>) => createCoinbaseVenue(cfg, { exchange: 'coinbase', clock: new ManualClock(0) });

describe('[coinbase.options] user channel keys', () => {
  it('default on; validated with the key path (zod)', () => {
    expect(resolveCoinbaseOptions(undefined)).toMatchObject({ user_stream: true, user_api_url: '' });
    expect(validateCoinbaseOptions({ user_stream: 'yes' }, 'coinbase.options')[0]!.path).toBe('coinbase.options.user_stream');
    expect(validateCoinbaseOptions({ user_api_url: 'https://x' }, 'coinbase.options')[0]).toMatchObject({ path: 'coinbase.options.user_api_url', message: expect.stringMatching(/ws:\/\/ or wss:\/\//) });
    expect(validateCoinbaseOptions({ user_stream: false, user_api_url: 'wss://a.example/ws' }, 'coinbase.options')).toEqual([]);
  });

  it('the stream exists only with a key and user_stream on; its URL: user_api_url, else api_url when set, else the User Order Data endpoint', () => {
    expect(venue({}).userStream).toBeUndefined();
    expect(venue({ ...KEY, options: { user_stream: false } }).userStream).toBeUndefined();
    expect(venue({ ...KEY }).userStream!.url).toBe(COINBASE_USER_WS_URL);
    expect(venue({ ...KEY, api_url: 'ws://127.0.0.1:9/' }).userStream!.url).toBe('ws://127.0.0.1:9');
    expect(venue({ ...KEY, api_url: 'ws://127.0.0.1:9', options: { user_api_url: 'ws://127.0.0.1:10/user' } }).userStream!.url).toBe('ws://127.0.0.1:10/user');
  });
});
