import { controlRequest } from '../risk/control.js';

const ACTIONS = ['status', 'halt', 'reduce', 'resume'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * `cwts-ultra risk status|halt|reduce|resume [--url http://127.0.0.1:8081] [--reason TEXT]`:
 * the manual kill switch, through the running engine's loopback control endpoint.
 */
export async function riskCommand(action: string, o: { url: string; reason?: string; json?: boolean }, out: (line: string) => void): Promise<number> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    process.stderr.write(`cwts-ultra risk: unknown action ${action} (expected ${ACTIONS.join(', ')})\n`);
    return 2;
  }
  const r = await controlRequest(o.url, action as Action, o.reason);
  const body = r.body as Record<string, unknown>;
  if (r.status !== 200) {
    process.stderr.write(`cwts-ultra risk ${action}: HTTP ${r.status}: ${typeof body === 'object' && body && 'error' in body ? String(body.error) : JSON.stringify(body)}\n`);
    return 1;
  }
  if (o.json) out(JSON.stringify(body));
  else {
    out(`risk state ${String(body.state)} (${String(body.reason)})`);
    out(`  equity ${String(body.equity)}, peak ${String(body.peakEquity)}, drawdown ${(Number(body.drawdownRatio) * 100).toFixed(2)}% (max ${(Number(body.maxDrawdown) * 100).toFixed(2)}%), open orders ${String(body.openOrders)}`);
  }
  return 0;
}
