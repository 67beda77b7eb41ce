import { describe, expect, it } from 'vitest';
import { resolveDataDir } from './data-dir.js';

describe('resolveDataDir', () => {
  it('prefers CWTS_DATA_DIR, then STATE_DIRECTORY (first entry), then ./data under the working directory', () => {
    expect(resolveDataDir({ CWTS_DATA_DIR: '/srv/cwts', STATE_DIRECTORY: '/var/lib/x' }, '/home/u')).toBe('/srv/cwts');
    expect(resolveDataDir({ STATE_DIRECTORY: '/var/lib/cwts-ultra:/var/lib/other' }, '/home/u')).toBe('/var/lib/cwts-ultra');
    expect(resolveDataDir({}, '/home/u')).toBe('/home/u/data');
  });

  it('resolves a relative directory against the working directory and ignores blank values', () => {
    expect(resolveDataDir({ CWTS_DATA_DIR: 'state' }, '/home/u')).toBe('/home/u/state');
    expect(resolveDataDir({ CWTS_DATA_DIR: '  ', STATE_DIRECTORY: '' }, '/home/u')).toBe('/home/u/data');
  });
});
