import { controlRequest } from '../risk/control.js';
import { readControlToken } from '../risk/control-token.js';
import { writeErrLine } from './output.js';

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
    writeErrLine(`cwts-ultra risk: unknown action ${action} (expected ${ACTIONS.join(', ')})`);
    return 2;
  }
  let host: string;
  try {
    host = new URL(o.url).hostname;
  } catch {
    writeErrLine(`cwts-ultra risk: --url ${o.url} is not a URL (e.g. http://127.0.0.1:8081)`);
    return 2;
  }
  // the endpoint only listens on loopback: a token sent anywhere else could only leak
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(host)) {
    writeErrLine(`cwts-ultra risk: ${host} is not a loopback address; the control endpoint only listens on loopback, and the token is not sent elsewhere`);
    return 2;
  }
  const { token } = readControlToken({ ...(o.env ? { env: o.env } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}) });
  const r = await controlRequest(o.url, action as Action, { token, ...(o.reason ? { reason: o.reason } : {}) });
  const body = r.body as Record<string, unknown>;
  if (r.status !== 200) {
    writeErrLine(`cwts-ultra risk ${action}: HTTP ${r.status}: ${typeof body === 'object' && body && 'error' in body ? String(body.error) : JSON.stringify(body)}`);
    return 1;
  }
  if (o.json) out(JSON.stringify(body));
  else {
    // An action that took effect while the status could not be built answers what it knows.
    if (body.applied === true && body.error !== undefined) {
      out(`${action} applied${body.state !== undefined ? `: risk state ${String(body.state)}` : ''}; the status could not be read: ${String(body.error)}`);
      return 0;
    }
    out(`risk state ${String(body.state)} (${String(body.reason)})`);
    const pct = (v: unknown) => `${(Number(v) * 100).toFixed(2)}%`;
    // null while positions cannot be valued (the fail-safe HALT): never shown as 0
    const valued = body.valuationError === undefined || body.valuationError === null;
    const equity = valued ? `equity ${String(body.equity)}` : 'equity n/a';
    const drawdown = valued ? `drawdown ${pct(body.drawdownRatio)}` : 'drawdown n/a';
    out(`  ${equity}, peak ${String(body.peakEquity)}, ${drawdown} (max ${pct(body.maxDrawdown)}), open orders ${String(body.openOrders)}`);
    if (!valued) out(`  positions cannot be valued: ${String(body.valuationError)}`);
  }
  return 0;
}
