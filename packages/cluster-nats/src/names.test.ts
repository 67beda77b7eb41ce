import { describe, expect, it } from 'vitest';
import { clusterNames, legacyStreamName, streamName } from './names.js';

describe('cluster names', () => {
  it('keep the stream name of earlier versions for a name without lower-case letters', () => {
    expect(streamName('PROD')).toBe('CWTS_PROD');
    expect(streamName('EU-1_A')).toBe('CWTS_EU-1_A');
    expect(streamName('42')).toBe('CWTS_42');
    expect(legacyStreamName('prod')).toBe('CWTS_PROD');
  });

  it('give names that differ only in case streams that differ even case-folded', () => {
    const names = ['prod', 'PROD', 'Prod', 'pROD', 'proD', 'prod-eu', 'PROD-EU', 'Prod-Eu', 'a.b', 'A.B', 'a=2Eb', 'ab', 'AB', 'aB', 'Ab', 'abcdefgh', 'ABCDEFGH', 'abcdEFGH'];
    const streams = names.map(streamName);
    expect(new Set(streams.map((s) => s.toLowerCase())).size, streams.join(' ')).toBe(names.length);
    expect(streamName('prod')).toBe('CWTS_PROD=LF');
    expect(streamName('Prod')).toBe('CWTS_PROD=LE');
    expect(streamName('abcdEFGH')).toBe('CWTS_ABCDEFGH=LF0');
  });

  it('stream names never collide with one of a name without lower-case letters', () => {
    // `=L` follows only the name (the key-token escape puts hex digits after `=`).
    expect(streamName('PROD=LF')).toBe('CWTS_PROD=3DLF');
    expect(streamName('prod')).not.toBe(streamName('PROD=LF'));
  });

  it('are valid JetStream stream names, and clusterNames uses them', () => {
    for (const n of ['prod', 'Prod', 'a b', 'x/y', 'p.q*r>']) expect(streamName(n)).not.toMatch(/[.*>/\\\s]/);
    expect(clusterNames('Prod').stream).toBe(streamName('Prod'));
    expect(clusterNames('Prod').all).toBe('cwts.Prod.>');
  });
});
