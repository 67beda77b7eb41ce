import { controlRequest } from '../risk/control.js';
import { readControlToken } from '../risk/control-token.js';

const ACTIONS = ['status', 'halt', 'reduce', 'resume'] as const;
type Action = (typeof ACTIONS)[number];

export interface RiskCommandOptions {
  url: string;
  reason?: string;
  json?: boolean;
  /** Where to look for the token file (default: resolveDataDir()); `CWTS_CONTROL_TOKEN` wins. */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * `cwts-ultra risk status|halt|reduce|resume [--url http://127.0.0.1:8081] [--reason TEXT]`:
 * the manual kill switch, through the running engine's loopback control endpoint. The token comes
 * from `CWTS_CONTROL_TOKEN` or the engine's token file (control-token.ts), so on the engine's
 * host it needs no flag.
 */
export async function riskCommand(action: string, o: RiskCommandOptions, out: (line: string) => void): Promise<number> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    process.stderr.write(`cwts-ultra risk: unknown action ${action} (expected ${ACTIONS.join(', ')})\n`);
    return 2;
  }
  const { token } = readControlToken({ ...(o.env ? { env: o.env } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}) });
  const r = await controlRequest(o.url, action as Action, { token, ...(o.reason ? { reason: o.reason } : {}) });
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
