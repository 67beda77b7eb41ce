/**
 * An engine started with CWTS_CONTROL_TOKEN left the control.token of an earlier start (without
 * it) in the data directory; `cwts-ultra risk` in an operator's shell (which does not carry the
 * service's environment) read that stale file and the kill switch answered 401.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_TOKEN_ENV, establishControlToken, readControlToken, tokensEqual } from './control-token.js';

describe('control.token left from an earlier start', () => {
  it('an engine using CWTS_CONTROL_TOKEN does not leave a token file the client would send instead', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cwts-stale-token-'));
    // an earlier start without the variable wrote control.token
    establishControlToken({ env: {}, dataDir });
    // this start: the operator set CWTS_CONTROL_TOKEN in the service's environment
    const engine = establishControlToken({ env: { [CONTROL_TOKEN_ENV]: 'operator-chosen-token-0123456789' }, dataDir });
    expect(engine.source.kind).toBe('env');
    // `cwts-ultra risk halt` from an operator's shell (no CWTS_CONTROL_TOKEN there)
    let sent: string | undefined;
    try {
      sent = readControlToken({ env: {}, dataDir }).token;
    } catch {
      sent = undefined; // "no control token: set CWTS_CONTROL_TOKEN ..." is a clear answer
    }
    // what it sends must be the engine's token, or nothing (a clear error): never a stale one that gets 401
    expect(sent === undefined || tokensEqual(sent, engine.token)).toBe(true);
    expect(existsSync(join(dataDir, 'control.token'))).toBe(false);
  });
});
