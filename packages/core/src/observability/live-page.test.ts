import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { LIVE_PAGE_HTML } from './live-page.js';

/** Runs the page's script against a stub DOM and EventSource; returns the text of each element by id after one snapshot. */
function render(snapshot: unknown): Map<string, string> {
  const pageJs = /<script>([\s\S]*?)<\/script>/.exec(LIVE_PAGE_HTML)![1]!;
  const elements = new Map<string, { textContent: string }>();
  const element = (id: string) => {
    let el = elements.get(id);
    if (!el) {
      el = { textContent: '', className: '', appendChild: () => {}, setAttribute: () => {}, getContext: () => ({ clearRect() {}, beginPath() {}, moveTo() {}, lineTo() {}, stroke() {} }), width: 1200, height: 70 } as never;
      elements.set(id, el!);
    }
    return el!;
  };
  const listeners: Record<string, (e: { data: string }) => void> = {};
  const document = {
    getElementById: element,
    createElement: () => element(''),
    createTextNode: () => ({}),
    body: { getAttribute: () => null, setAttribute: () => {} },
  };
  class EventSource {
    onerror: unknown;
    addEventListener(type: string, f: (e: { data: string }) => void) {
      listeners[type] = f;
    }
  }
  runInNewContext(pageJs, { document, EventSource });
  listeners.snapshot!({ data: JSON.stringify(snapshot) });
  return new Map([...elements].map(([id, el]) => [id, el.textContent]));
}

describe('live page', () => {
  it('shows equity (starting capital + net, as risk.equity) and the net PnL, each labelled', () => {
    expect(LIVE_PAGE_HTML).toContain('equity <b id="pnl-equity" data-live="pnl.equity">');
    expect(LIVE_PAGE_HTML).toContain('net PnL <b id="pnl-net" data-live="pnl.net">');
    const text = render({ pnl: { equity: '999.9995', net: '-0.0005', realized: '0', unrealized: '0', fees: '0.0005' }, risk: { state: 'ACTIVE', equity: '999.9995' } });
    expect(text.get('pnl-equity')).toBe('999.9995');
    expect(text.get('pnl-net')).toBe('-0.0005');
  });
});
