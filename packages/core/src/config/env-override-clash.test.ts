// docs/configuration.md: values from CWTS_METRICS_PORT / CWTS_HEALTH_PORT / CWTS_CONTROL_PORT /
// CWTS_BIND_ADDRESS "are checked like the file's; an error about one ends with the variable it came from".
import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { ConfigError } from './errors.js';

const TOML = `
[system]
name = "t"
[exchanges]
enabled = ["sim"]
[sim]
symbols = ["BTCUSDT"]
[risk]
max_position = 1000
max_drawdown = 0.1
var_confidence = 0.99
[monitoring]
metrics_port = 9090
health_check_port = 8080
`;

function issuesOf(env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(TOML, env, '/tmp/x.toml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('env override port clash names the variable (docs/configuration.md)', () => {
  it('CWTS_METRICS_PORT=8080 clashing with the file\'s health_check_port names CWTS_METRICS_PORT', () => {
    const issues = issuesOf({ CWTS_METRICS_PORT: '8080' });
    expect(issues).toHaveLength(1);
    // The file says metrics_port = 9090; the 8080 came from the environment: the error must say so.
    expect(issues[0]).toContain('CWTS_METRICS_PORT');
  });
});

describe('env override port clash: every variable behind it', () => {
  it('names the port variable and the bind address variable that made the two overlap', () => {
    const issues = issuesOf({ CWTS_HEALTH_PORT: '9090', CWTS_BIND_ADDRESS: '0.0.0.0' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain('CWTS_HEALTH_PORT');
    expect(issues[0]).toContain('CWTS_BIND_ADDRESS');
  });

  it('names nothing when both ports come from the file', () => {
    const issues = issuesOf({ CWTS_BIND_ADDRESS: '127.0.0.1' });
    expect(issues).toEqual([]);
  });
});
