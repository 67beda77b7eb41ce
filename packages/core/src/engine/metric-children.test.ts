import { describe, expect, it } from 'vitest';

import { MetricsRegistry } from '../observability/metrics.js';
import { DeferredCounter, DeferredGauge, MetricChildren } from './metric-children.js';

describe('metric children resolved once per series', () => {
  it('MetricChildren resolves each label tuple once and tells tuples apart', () => {
    const resolved: string[] = [];
    const c = new MetricChildren((...l) => (resolved.push(l.join('|')), { labels: l }));
    const a = c.get('x', 'S', 'book_delta');
    expect(c.get('x', 'S', 'book_delta')).toBe(a);
    expect(c.get('x', 'S', 'trade')).not.toBe(a);
    expect(c.get('x', 'T', 'book_delta')).not.toBe(a);
    expect(c.get('y')).toEqual({ labels: ['y'] });
    expect(resolved).toEqual(['x|S|book_delta', 'x|S|trade', 'x|T|book_delta', 'y']);
  });

  it('a DeferredCounter is exact at every read: the exposition text and get() include every increment made before them', async () => {
    const m = new MetricsRegistry({ processMetrics: false });
    const events = new DeferredCounter(m.marketEvents);
    const cell = events.get('binance', 'BTCUSDT', 'book_delta');
    for (let i = 0; i < 5; i++) cell.n++;
    events.get('kraken', 'BTC/USD', 'trade').n++;
    expect(await m.text()).toMatch(/cwts_market_events_total\{exchange="binance",symbol="BTCUSDT",type="book_delta"\} 5\n/);
    cell.n += 2;
    const values = (await m.marketEvents.get()).values;
    expect(values.find((v) => v.labels.exchange === 'binance')?.value).toBe(7);
    expect(values.find((v) => v.labels.exchange === 'kraken')?.value).toBe(1);
    // a second counter on the same metric (a second engine on one registry) adds, it does not replace
    const other = new DeferredCounter(m.marketEvents);
    other.get('binance', 'BTCUSDT', 'book_delta').n++;
    cell.n++;
    expect(await m.text()).toMatch(/cwts_market_events_total\{exchange="binance",symbol="BTCUSDT",type="book_delta"\} 9\n/);
  });

  it('a DeferredGauge shows at every read the last value set before it, per series, zero included', async () => {
    const m = new MetricsRegistry({ processMetrics: false });
    const position = new DeferredGauge(m.position);
    position.set(1.5, 'binance', 'BTCUSDT');
    position.set(-0.25, 'binance', 'BTCUSDT');
    position.set(3, 'kraken', 'BTC/USD');
    expect(await m.text()).toMatch(/cwts_position\{exchange="binance",symbol="BTCUSDT"\} -0\.25\n/);
    // a read hands the values over once; later reads without a set keep them
    expect(await m.text()).toMatch(/cwts_position\{exchange="kraken",symbol="BTC\/USD"\} 3\n/);
    position.set(0, 'binance', 'BTCUSDT'); // flat again: a zero is a value like any other
    const values = (await m.position.get()).values;
    expect(values.find((v) => v.labels.exchange === 'binance')?.value).toBe(0);
    expect(values.find((v) => v.labels.exchange === 'kraken')?.value).toBe(3);
  });

  it('DeferredGauges on one gauge (an engine restarted on the same registry) share it: the last set wins', async () => {
    const m = new MetricsRegistry({ processMetrics: false });
    const before = new DeferredGauge(m.position);
    before.set(1, 'binance', 'BTCUSDT'); // not read before the restart
    const after = new DeferredGauge(m.position);
    after.set(0.5, 'binance', 'BTCUSDT');
    const read = async (): Promise<number | undefined> => (await m.position.get()).values.find((v) => v.labels.exchange === 'binance')?.value;
    expect(await read()).toBe(0.5);
    before.set(2, 'binance', 'BTCUSDT');
    expect(await read()).toBe(2);
  });
});
