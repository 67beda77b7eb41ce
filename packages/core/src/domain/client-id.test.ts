import { describe, expect, it } from 'vitest';

import { clientIdNumber } from './client-id.js';

describe('clientIdNumber', () => {
  it('reads the sequence number of the engine form only', () => {
    expect(clientIdNumber('cw-42')).toBe(42);
    expect(clientIdNumber('cw-000000000000001')).toBe(1);
    expect(clientIdNumber('cw-999999999999999')).toBe(999_999_999_999_999);
    expect(clientIdNumber('bot-7', 'bot')).toBe(7);
  });

  it.each([
    ['adopted-binance-4123456789'],
    ['cwx-1'],
    ['xcw-1'],
    ['cw-'],
    ['cw'],
    ['cw-+1'],
    ['cw--1'],
    ['cw-1.5'],
    ['cw-1e3'],
    ['cw-１'],
    ['cw-9007199254740993'],
    ['cw-1000000000000000'],
    [''],
    [42],
    [undefined],
  ])('%j is not one of ours', (id) => {
    expect(clientIdNumber(id)).toBeUndefined();
  });
});
