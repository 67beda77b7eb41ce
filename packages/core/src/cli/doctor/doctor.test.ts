import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import type { CwtsConfig } from '../../config/types.js';
import { JournalStore } from '../../journal/store.js';
import { HttpEndpoint, healthRoutes, type Route } from '../../observability/http.js';
import { checkJournalLocation, checkPorts, checkVenues, runningEngine } from './deploy-checks.js';
import { checkClockSync, checkCpuFeatures, checkCpuGovernor, checkMemlock, checkOpenFiles, checkSocketBuffers, checkVmLimits } from './host-checks.js';
import { doctorCommand, runDoctor, worstExit, type CheckResult, type HostProbe } from './index.js';

/** A machine made of the files and commands a test gives it. */
function host(files: Record<string, string>, commands: Record<string, { status: number; stdout: string; stderr?: string }> = {}): HostProbe {
  return {
    readFile: (p) => files[p],
    listDir: (p) => {
      const names = new Set(Object.keys(files).filter((f) => f.startsWith(p + '/')).map((f) => f.slice(p.length + 1).split('/')[0]!));
      return names.size ? [...names] : undefined;
    },
    run: (cmd) => (commands[cmd] ? { stderr: '', ...commands[cmd]! } : undefined),
  };
}

const LIMITS = (memlock: string, nofile: string) =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    `Max open files            ${nofile.padEnd(21)}${nofile.padEnd(21)}files     `,
    `Max locked memory         ${memlock.padEnd(21)}${memlock.padEnd(21)}bytes     `,
  ].join('\n');

const servers: Server[] = [];
const endpoints: HttpEndpoint[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const e of endpoints.splice(0)) await e.close();
});
/** An endpoint with run's route table (health, metrics or control), on a free loopback port. */
async function endpoint(routes: Record<string, Route>): Promise<number> {
  const e = new HttpEndpoint('test endpoint', routes);
  endpoints.push(e);
  return e.listen(0, '127.0.0.1');
}
function listen(): Promise<number> {
  // read what comes (doctor's probe of a port sends a request): a paused socket never sees the client's close
  const s = createServer((c) => c.resume().end());
  servers.push(s);
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
}

describe('doctor host checks', () => {
  it('CPU governor: PASS all on performance, WARN with the fix otherwise, WARN with the reason without cpufreq', () => {
    const gov = (a: string, b: string) => host({ '/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor': `${a}\n`, '/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor': `${b}\n` });
    expect(checkCpuGovernor(gov('performance', 'performance'))).toMatchObject({ status: 'PASS', detail: 'every CPU on "performance" (2 x performance)' });
    const mixed = checkCpuGovernor(gov('performance', 'powersave'));
    expect(mixed).toMatchObject({ status: 'WARN', detail: expect.stringContaining('1 x performance, 1 x powersave') });
    expect(mixed.fix).toContain('cpupower frequency-set -g performance');
    expect(checkCpuGovernor(host({ '/sys/devices/system/cpu/online': '0-1' }))).toMatchObject({ status: 'WARN', detail: expect.stringMatching(/^cannot be checked here: no cpufreq interface/) });
  });

  it('CPU features: the instruction set the SIMD backend would pick, scalar is a WARN', () => {
    const cpu = (flags: string) => host({ '/proc/cpuinfo': `processor\t: 0\nflags\t\t: ${flags}\n` });
    expect(checkCpuFeatures(cpu('sse4_2 avx2 fma avx512f avx512dq avx512bw avx512vl'), 'x64')).toMatchObject({ status: 'PASS', detail: 'avx512, avx2 available; the cpu-simd backend uses avx512' });
    expect(checkCpuFeatures(cpu('sse4_2 avx2 fma avx512f'), 'x64')).toMatchObject({ status: 'PASS', detail: 'avx2 available; the cpu-simd backend uses avx2' });
    expect(checkCpuFeatures(cpu('sse4_2 avx'), 'x64')).toMatchObject({ status: 'WARN', detail: expect.stringContaining('scalar path') });
    expect(checkCpuFeatures(host({}), 'x64')).toMatchObject({ status: 'WARN', detail: expect.stringMatching(/^cannot be checked here/) });
  });

  it('memlock and open files from /proc/self/limits', () => {
    expect(checkMemlock(host({ '/proc/self/limits': LIMITS('unlimited', '65536') }))).toMatchObject({ status: 'PASS' });
    const low = checkMemlock(host({ '/proc/self/limits': LIMITS('8388608', '20000') }));
    expect(low).toMatchObject({ status: 'WARN', detail: expect.stringMatching(/^soft limit 8 MiB/) });
    expect(low.fix).toContain('LimitMEMLOCK=infinity');
    expect(checkOpenFiles(host({ '/proc/self/limits': LIMITS('unlimited', '65536') }))).toMatchObject({ status: 'PASS', detail: 'soft limit 65536' });
    expect(checkOpenFiles(host({ '/proc/self/limits': LIMITS('unlimited', '20000') }))).toMatchObject({ status: 'WARN', fix: expect.stringContaining('LimitNOFILE=65536') });
    expect(checkOpenFiles(host({}))).toMatchObject({ status: 'WARN', detail: expect.stringMatching(/^cannot be checked here/) });
  });

  it('socket buffers and memory sysctls against the seed values, with the sysctl lines to apply', () => {
    const big = { '/proc/sys/net/core/rmem_max': '134217728\n', '/proc/sys/net/core/wmem_max': '134217728\n', '/proc/sys/net/ipv4/tcp_rmem': '4096\t87380\t134217728\n', '/proc/sys/net/ipv4/tcp_wmem': '4096\t65536\t134217728\n' };
    expect(checkSocketBuffers(host(big))).toMatchObject({ status: 'PASS' });
    const small = checkSocketBuffers(host({ ...big, '/proc/sys/net/core/rmem_max': '4194304\n', '/proc/sys/net/ipv4/tcp_wmem': '4096\t16384\t4194304\n' }));
    expect(small.status).toBe('WARN');
    expect(small.detail).toMatch(/^net\.core\.rmem_max = 4194304 \(want >= 134217728\); net\.ipv4\.tcp_wmem = 4194304/);
    expect(small.fix).toBe('sudo sysctl -w net.core.rmem_max=134217728; sudo sysctl -w net.ipv4.tcp_wmem="4096 65536 134217728"; persist them in /etc/sysctl.d/99-cwts-ultra.conf');
    expect(checkSocketBuffers(host({}))).toMatchObject({ status: 'WARN', detail: expect.stringMatching(/^cannot be checked here/) });
    expect(checkVmLimits(host({ '/proc/sys/vm/max_map_count': '65530', '/proc/sys/kernel/threads-max': '192735' }))).toMatchObject({ status: 'WARN', fix: expect.stringContaining('vm.max_map_count=262144') });
  });

  it('clock sync: timedatectl, else chronyc, else the timesyncd marker, else a WARN naming what was tried', () => {
    expect(checkClockSync(host({}, { timedatectl: { status: 0, stdout: 'yes\n' } }))).toMatchObject({ status: 'PASS' });
    expect(checkClockSync(host({}, { timedatectl: { status: 0, stdout: 'no\n' } }))).toMatchObject({ status: 'FAIL', fix: expect.stringContaining('chrony') });
    const noSystemd = { timedatectl: { status: 1, stdout: '', stderr: 'System has not been booted with systemd as init system (PID 1). Can\'t operate.\n' } };
    const tracking = (leap: string, secs: string) => ({ status: 0, stdout: `Reference ID    : C0A80001\nSystem time     : ${secs} seconds slow of NTP time\nLeap status     : ${leap}\n` });
    expect(checkClockSync(host({}, { ...noSystemd, chronyc: tracking('Normal', '0.000012') }))).toMatchObject({ status: 'PASS', detail: 'chronyc: synchronised, 0.000012 s slow' });
    expect(checkClockSync(host({}, { ...noSystemd, chronyc: tracking('Not synchronised', '0.0') }))).toMatchObject({ status: 'FAIL' });
    expect(checkClockSync(host({ '/run/systemd/timesync/synchronized': '' }, noSystemd))).toMatchObject({ status: 'PASS' });
    expect(checkClockSync(host({}, noSystemd))).toMatchObject({
      status: 'WARN',
      detail: 'cannot be checked here: timedatectl cannot answer (System has not been booted with systemd as init system (PID 1). Can\'t operate.); chronyc is not installed; no /run/systemd/timesync/synchronized',
    });
  });

  it('the exit code is the worst result; SKIP does not count', () => {
    const r = (status: CheckResult['status']): CheckResult => ({ id: 'x', title: 'x', status, detail: '' });
    expect(worstExit([r('PASS'), r('SKIP')])).toBe(0);
    expect(worstExit([r('PASS'), r('WARN'), r('SKIP')])).toBe(1);
    expect(worstExit([r('FAIL'), r('WARN')])).toBe(2);
  });
});

describe('doctor deployment checks', () => {
  const cfg = (over: Partial<{ path: string; name: string }> = {}) => ({ journal: { path: over.path, fsync: 'batch', batch_ms: 50 }, system: { name: over.name ?? 'doc' } }) as unknown as Pick<CwtsConfig, 'journal' | 'system'>;

  it('journal location: PASS with the free space, FAIL when a file is in the way', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-'));
    const ok = checkJournalLocation(cfg(), join(dir, 'data'));
    expect(ok.status).toBe('PASS');
    expect(ok.detail).toMatch(new RegExp(`^journal ${join(dir, 'data', 'doc.db')}: ${dir} \\(${join(dir, 'data')} will be created\\) writable, [\\d.]+ GiB free; not created yet$`));
    writeFileSync(join(dir, 'file'), 'x');
    expect(checkJournalLocation(cfg({ path: join(dir, 'file', 'j.db') }), dir)).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`${join(dir, 'file')} is in the way and is not a directory`) });
  });

  it('ports: FAIL naming the port another process holds, 0 is picked at start', async () => {
    const busy = await listen();
    const m = { metrics_port: busy, health_check_port: 0, bind_address: '127.0.0.1', control_port: 0, control_bind_address: '127.0.0.1', enable_tracing: false };
    const r = await checkPorts({ monitoring: m });
    expect(r).toMatchObject({ status: 'FAIL', detail: `metrics_port 127.0.0.1:${busy} in use (another cwts-ultra, or another service); health_check_port 0 (picked at start); control_port 0 (picked at start)` });
    expect(r.fix).toContain('ss -ltnp');
    expect(await checkPorts({ monitoring: { ...m, metrics_port: 0 } })).toMatchObject({ status: 'PASS' });
  });

  it("ports: PASS for the ports this deployment's running engine holds (the journal's live writer, and the port answers as run's endpoint), FAIL for any other holder", async () => {
    const ok = () => ({ status: 200, body: 'x' });
    const health = await endpoint(healthRoutes(() => [], () => ({})));
    const metrics = await endpoint({ '/metrics': ok });
    const control = await endpoint({ '/risk': ok, '/risk/halt': { method: 'POST', handler: ok }, '/risk/reduce': { method: 'POST', handler: ok }, '/risk/resume': { method: 'POST', handler: ok } });
    const m = { metrics_port: metrics, health_check_port: health, bind_address: '127.0.0.1', control_port: control, control_bind_address: '127.0.0.1', enable_tracing: false };
    const engine = { pid: 4242 };
    expect(await checkPorts({ monitoring: m }, { engine })).toEqual({
      id: 'ports',
      title: 'HTTP ports free (metrics, health, risk control)',
      status: 'PASS',
      detail: `metrics_port 127.0.0.1:${metrics} held by the running engine pid 4242 (the journal's writer); health_check_port 127.0.0.1:${health} held by the running engine pid 4242 (the journal's writer); control_port 127.0.0.1:${control} held by the running engine pid 4242 (the journal's writer)`,
    });
    // Each port must answer as its own endpoint: run's health endpoint on the metrics port is not the engine's metrics.
    const swapped = await checkPorts({ monitoring: { ...m, metrics_port: health, health_check_port: 0, control_port: 0 } }, { engine });
    expect(swapped).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`metrics_port 127.0.0.1:${health} in use by another process: not this deployment's engine pid 4242`) });
    expect(swapped.fix).toContain('ss -ltnp');

    // Another service (a bare TCP listener, an HTTP server that is not run's) on the port while the engine runs: FAIL.
    const tcp = await listen();
    const http = await endpoint({ '/health': ok });
    for (const port of [tcp, http]) {
      const r = await checkPorts({ monitoring: { ...m, health_check_port: port } }, { engine });
      expect(r.status).toBe('FAIL');
      expect(r.detail).toContain(`health_check_port 127.0.0.1:${port} in use by another process: not this deployment's engine pid 4242 (the port does not answer as run's health_check endpoint)`);
      expect(r.detail).toContain(`metrics_port 127.0.0.1:${metrics} held by the running engine pid 4242`);
    }
    // A holder that accepts and never answers: FAIL once the probe gives up.
    const silent = createServer((c) => c.resume());
    servers.push(silent);
    const mute = await new Promise<number>((r) => silent.listen(0, '127.0.0.1', () => r((silent.address() as { port: number }).port)));
    expect(await checkPorts({ monitoring: { ...m, health_check_port: mute } }, { engine, probeTimeoutMs: 200 })).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`health_check_port 127.0.0.1:${mute} in use by another process`) });
    // run's endpoint, but this deployment's journal has no running writer: another cwts-ultra's.
    expect(await checkPorts({ monitoring: { ...m, metrics_port: 0, control_port: 0 } })).toMatchObject({
      status: 'FAIL',
      detail: `metrics_port 0 (picked at start); health_check_port 127.0.0.1:${health} in use by another cwts-ultra (it answers as run's health_check endpoint), not this deployment's engine: its journal has no running writer on this host; control_port 0 (picked at start)`,
    });
  });

  it("runningEngine: the journal's live writer on this host; none for a journal not created, closed, or held from another host", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-'));
    const path = join(dir, 'j.db');
    const jcfg = cfg({ path });
    expect(runningEngine(jcfg)).toBeUndefined();
    const here = JournalStore.open(path);
    try {
      expect(runningEngine(jcfg)).toEqual({ pid: process.pid });
    } finally {
      here.close();
    }
    expect(runningEngine(jcfg)).toBeUndefined();
    // a writer on another host holds no port here (it counts as alive: it cannot be checked)
    const there = JournalStore.open(path, { owner: { pid: 4242, host: 'another-host.invalid' } });
    try {
      expect(runningEngine(jcfg)).toBeUndefined();
    } finally {
      there.close();
    }
  });

  it('ports: FAIL on two endpoints with one port on the same address (each is free on its own; run fails on the second)', async () => {
    const m = { metrics_port: 39217, health_check_port: 39217, bind_address: '127.0.0.1', control_port: 0, control_bind_address: '127.0.0.1', enable_tracing: false };
    const r = await checkPorts({ monitoring: m });
    expect(r.status).toBe('FAIL');
    expect(r.detail).toContain('monitoring.health_check_port 39217 is also monitoring.metrics_port on 127.0.0.1');
    expect(r.fix).toContain('different ports');
  });

  it('venues: SKIP offline; otherwise DNS + connect per URL, FAIL for one that does not answer', async () => {
    const up = await listen();
    const down = await listen();
    await new Promise((r) => servers.pop()!.close(r));
    const venues = [
      { name: 'sim', plugin: '@cwts/exchange-sim' },
      { name: 'local', plugin: 'x', api_url: `ws://127.0.0.1:${up}/ws`, rest_url: `http://127.0.0.1:${down}` },
    ] as unknown as CwtsConfig['venues'];
    expect(await checkVenues({ venues }, true)).toMatchObject({ status: 'SKIP', detail: 'skipped (--offline)' });
    const r = await checkVenues({ venues }, false, 2000);
    expect(r.status).toBe('FAIL');
    expect(r.detail).toMatch(new RegExp(`^sim: in-process, nothing to reach; local: 127\\.0\\.0\\.1:${up} 127\\.0\\.0\\.1 \\(DNS \\d+ ms, TCP \\d+ ms\\); local: 127\\.0\\.0\\.1:${down} unreachable: .*ECONNREFUSED`));
  });

  it('runs every check on this machine with a reason each, --json, exit code = worst', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-'));
    const config = join(dir, 'c.toml');
    writeFileSync(config, `[system]\nname = "doctor-test"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[monitoring]\nmetrics_port = 0\nhealth_check_port = 0\ncontrol_port = 0\n\n[journal]\npath = "${join(dir, 'j.db')}"\n`);
    const out: string[] = [];
    const code = await doctorCommand({ config, offline: true, json: true }, (l) => out.push(l));
    const report = JSON.parse(out.join('\n')) as { exitCode: number; checks: CheckResult[] };
    expect(report.exitCode).toBe(code);
    expect(report.checks.map((c) => c.id)).toEqual(['cpu-governor', 'cpu-features', 'memlock', 'open-files', 'socket-buffers', 'vm-limits', 'clock-sync', 'gpu-backends', 'journal-location', 'ports', 'control-token', 'venues']);
    for (const c of report.checks) {
      expect(['PASS', 'WARN', 'FAIL', 'SKIP']).toContain(c.status);
      expect(c.detail.length, c.id).toBeGreaterThan(5);
      if (c.status === 'WARN' || c.status === 'FAIL') expect(c.fix ?? c.detail, c.id).toMatch(/\w/);
    }
    expect(report.checks.find((c) => c.id === 'venues')).toMatchObject({ status: 'SKIP' });
    expect(report.checks.find((c) => c.id === 'journal-location')!.status).toBe('PASS');
    expect(code).toBe(worstExit(report.checks));
    // The text form: one line per check, then the fix under each WARN/FAIL, then the tally.
    const text: string[] = [];
    expect(await doctorCommand({ config, offline: true }, (l) => text.push(l))).toBe(code);
    expect(text.at(-1)).toMatch(/^\d+ pass, \d+ warn, \d+ fail, 1 skipped \(exit \d\)$/);
  }, 180_000);

  it('loads a config whose venue keys are not set here (no check signs a request), every other check of the file still made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-'));
    const config = join(dir, 'c.toml');
    const toml = (extra: string) => `[system]\nname = "doctor-keys"\n[exchanges]\nenabled = ["sim"]\n[sim]\nplugin = "@cwts/exchange-sim"\napi_key = "\${CWTS_TEST_UNSET_KEY}"\napi_secret = "\${CWTS_TEST_UNSET_SECRET}"\n[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nvar_confidence = 0.99\n[monitoring]\nmetrics_port = 0\nhealth_check_port = 0\ncontrol_port = 0\n[compute]\nbackends = ["js"]\n[journal]\npath = "${join(dir, 'j.db')}"\n${extra}`;
    writeFileSync(config, toml(''));
    const checks = await runDoctor({ config, offline: true, host: host({}) });
    expect(checks.find((c) => c.id === 'journal-location')!.status).toBe('PASS');
    writeFileSync(config, toml('[paper]\nnot_a_key = 1\n'));
    await expect(runDoctor({ config, offline: true, host: host({}) })).rejects.toThrow(/paper\.not_a_key: unknown key/);
  }, 180_000);
});
