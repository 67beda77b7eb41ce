import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import type { CheckResult, HostProbe } from './types.js';

/** The machine this process runs on; commands get 5 s. */
export const realHost: HostProbe = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  listDir(path) {
    try {
      return readdirSync(path);
    } catch {
      return undefined;
    }
  },
  run(cmd, args) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  },
};

/** The seed's "High Latency" fix: every CPU on the performance governor. */
export function checkCpuGovernor(host: HostProbe): CheckResult {
  const base = { id: 'cpu-governor', title: 'CPU frequency governor' };
  const fix = 'sudo cpupower frequency-set -g performance   (or: echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)';
  const cpus = (host.listDir('/sys/devices/system/cpu') ?? []).filter((d) => /^cpu\d+$/.test(d));
  const governors = new Map<string, number>();
  for (const c of cpus) {
    const g = host.readFile(`/sys/devices/system/cpu/${c}/cpufreq/scaling_governor`)?.trim();
    if (g) governors.set(g, (governors.get(g) ?? 0) + 1);
  }
  if (governors.size === 0) {
    return { ...base, status: 'WARN', detail: 'cannot be checked here: no cpufreq interface (/sys/devices/system/cpu/cpu*/cpufreq), as in most VMs and containers; the hypervisor or host decides the frequency', fix: 'check it on the host, or ask the provider for instances with a fixed frequency' };
  }
  const seen = [...governors].map(([g, n]) => `${n} x ${g}`).join(', ');
  if (governors.size === 1 && governors.has('performance')) return { ...base, status: 'PASS', detail: `every CPU on "performance" (${seen})` };
  return { ...base, status: 'WARN', detail: `governors: ${seen}; anything but "performance" adds wake-up and ramp-up latency`, fix };
}

/** Which of the SIMD backend's instruction sets the CPU offers (it dispatches to the best). */
export function checkCpuFeatures(host: HostProbe, arch: string = process.arch): CheckResult {
  const base = { id: 'cpu-features', title: 'CPU features the SIMD backend uses (AVX-512, AVX2+FMA, NEON)' };
  const info = host.readFile('/proc/cpuinfo');
  if (info === undefined) return { ...base, status: 'WARN', detail: 'cannot be checked here: /proc/cpuinfo is not readable (not Linux?)', fix: 'run `cwts-ultra backends`: the cpu-simd row names the instruction set it chose' };
  const flags = new Set((/^(?:flags|Features)\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/).filter(Boolean));
  const have: string[] = [];
  // The same tests as the backend's dispatch (backend-cpu-simd/native/dispatch.cc).
  if (['avx512f', 'avx512dq', 'avx512bw', 'avx512vl', 'avx2', 'fma'].every((f) => flags.has(f))) have.push('avx512');
  if (flags.has('avx2') && flags.has('fma')) have.push('avx2');
  if (flags.has('asimd') || flags.has('neon') || arch === 'arm64') have.push('neon');
  if (have.length > 0) return { ...base, status: 'PASS', detail: `${have.join(', ')} available; the cpu-simd backend uses ${have[0]}` };
  return { ...base, status: 'WARN', detail: `none of avx512 (f, dq, bw, vl), avx2+fma, neon in the CPU flags: the cpu-simd backend runs its scalar path`, fix: 'run on a CPU with AVX2 or better (x86-64-v3), or expose the host CPU model to the VM (e.g. libvirt host-passthrough)' };
}

/** Soft limits of this process, from /proc/self/limits. */
function limit(host: HostProbe, name: string): { soft: string; hard: string } | undefined {
  const text = host.readFile('/proc/self/limits');
  if (text === undefined) return undefined;
  const line = text.split('\n').find((l) => l.startsWith(name));
  const m = line ? /^.{26}(\S+)\s+(\S+)/.exec(line) : null;
  return m ? { soft: m[1]!, hard: m[2]! } : undefined;
}

const MiB = 1024 * 1024;

/** The seed's "Memory Issues": memlock unlimited (pinned GPU staging buffers, locked pages). */
export function checkMemlock(host: HostProbe): CheckResult {
  const base = { id: 'memlock', title: 'locked-memory limit (ulimit -l)' };
  const l = limit(host, 'Max locked memory');
  if (!l) return { ...base, status: 'WARN', detail: 'cannot be checked here: /proc/self/limits is not readable (not Linux?)' };
  if (l.soft === 'unlimited') return { ...base, status: 'PASS', detail: 'unlimited' };
  const size = (v: string) => (v === 'unlimited' || !Number.isFinite(Number(v)) ? v : `${(Number(v) / MiB).toFixed(0)} MiB`);
  return {
    ...base,
    status: 'WARN',
    detail: `soft limit ${size(l.soft)} (hard ${size(l.hard)}); GPU backends pin staging buffers and fail to pin beyond it`,
    fix: 'systemd: LimitMEMLOCK=infinity in the unit [Service] section (deploy/systemd/cwts-ultra.service does not set it); /etc/security/limits.conf: "* soft memlock unlimited" and "* hard memlock unlimited"; docker: --ulimit memlock=-1',
  };
}

/** One descriptor per socket, journal file and WAL: venues, HTTP clients and scrapes add up. */
export function checkOpenFiles(host: HostProbe): CheckResult {
  const base = { id: 'open-files', title: 'open-file limit (ulimit -n)' };
  const l = limit(host, 'Max open files');
  if (!l) return { ...base, status: 'WARN', detail: 'cannot be checked here: /proc/self/limits is not readable (not Linux?)' };
  const soft = l.soft === 'unlimited' ? Infinity : Number(l.soft);
  if (soft >= 65536) return { ...base, status: 'PASS', detail: `soft limit ${l.soft}` };
  return { ...base, status: 'WARN', detail: `soft limit ${l.soft} (hard ${l.hard}); 65536 or more recommended`, fix: 'systemd: LimitNOFILE=65536 in the unit [Service] section; shell: ulimit -n 65536; docker: --ulimit nofile=65536:65536' };
}

/** Reads a sysctl through /proc/sys; the last number of a multi-value one (tcp_rmem's max). */
function sysctl(host: HostProbe, name: string): number | undefined {
  const text = host.readFile(`/proc/sys/${name.replace(/\./g, '/')}`);
  const last = text?.trim().split(/\s+/).pop();
  return last === undefined || last === '' ? undefined : Number(last);
}

function sysctlCheck(host: HostProbe, id: string, title: string, wanted: [string, number, string][], why: string): CheckResult {
  const low: string[] = [];
  const unreadable: string[] = [];
  const ok: string[] = [];
  const fixes: string[] = [];
  for (const [name, min, setting] of wanted) {
    const v = sysctl(host, name);
    if (v === undefined || !Number.isFinite(v)) unreadable.push(name);
    else if (v < min) {
      low.push(`${name} = ${v} (want >= ${min})`);
      fixes.push(`sudo sysctl -w ${name}=${setting}`);
    } else ok.push(`${name} = ${v}`);
  }
  if (low.length > 0) return { id, title, status: 'WARN', detail: `${low.join('; ')}; ${why}`, fix: `${fixes.join('; ')}; persist them in /etc/sysctl.d/99-cwts-ultra.conf` };
  if (unreadable.length > 0) return { id, title, status: 'WARN', detail: `cannot be checked here: ${unreadable.join(', ')} not readable under /proc/sys (not Linux, or a sandbox)${ok.length ? `; ${ok.join(', ')}` : ''}` };
  return { id, title, status: 'PASS', detail: ok.join(', ') };
}

/** The seed's "Network Latency" sysctls. */
export function checkSocketBuffers(host: HostProbe): CheckResult {
  const max = 134_217_728;
  return sysctlCheck(
    host,
    'socket-buffers',
    'socket buffer sysctls (net.core.rmem_max/wmem_max, net.ipv4.tcp_rmem/tcp_wmem)',
    [
      ['net.core.rmem_max', max, String(max)],
      ['net.core.wmem_max', max, String(max)],
      ['net.ipv4.tcp_rmem', max, `"4096 87380 ${max}"`],
      ['net.ipv4.tcp_wmem', max, `"4096 65536 ${max}"`],
    ],
    'small buffers drop or delay bursts of market data',
  );
}

/** The seed's "Memory Issues" sysctls. */
export function checkVmLimits(host: HostProbe): CheckResult {
  return sysctlCheck(
    host,
    'vm-limits',
    'memory sysctls (vm.max_map_count, kernel.threads-max)',
    [
      ['vm.max_map_count', 262_144, '262144'],
      ['kernel.threads-max', 100_000, '100000'],
    ],
    'large heaps, GPU drivers and worker threads need more mappings and threads',
  );
}

/**
 * Order timestamps are checked by venues against their clock (Binance: recvWindow), so the
 * clock must be synchronised: timedatectl (systemd-timesyncd, or chrony through timedated),
 * else chronyc, else systemd-timesyncd's marker file.
 */
export function checkClockSync(host: HostProbe): CheckResult {
  const base = { id: 'clock-sync', title: 'clock synchronisation (chrony / systemd-timesyncd)' };
  const fix = 'install and enable chrony (apt install chrony; systemctl enable --now chrony) or systemd-timesyncd (timedatectl set-ntp true)';
  const tried: string[] = [];
  const td = host.run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  if (td === undefined) tried.push('timedatectl is not installed');
  else if (td.status === 0 && /^(yes|no)$/.test(td.stdout.trim())) {
    if (td.stdout.trim() === 'yes') return { ...base, status: 'PASS', detail: 'timedatectl: NTPSynchronized=yes' };
    return { ...base, status: 'FAIL', detail: 'timedatectl: NTPSynchronized=no; venues refuse requests whose timestamp is off (Binance: outside recvWindow)', fix };
  } else tried.push(`timedatectl cannot answer (${(td.stderr || td.stdout).trim().split('\n')[0] || `exit ${td.status}`})`);
  const ch = host.run('chronyc', ['tracking']);
  if (ch === undefined) tried.push('chronyc is not installed');
  else if (ch.status === 0) {
    const leap = /Leap status\s*:\s*(.+)/.exec(ch.stdout)?.[1]?.trim();
    const off = /System time\s*:\s*([\d.]+) seconds (slow|fast)/.exec(ch.stdout);
    const offset = off ? Number(off[1]) : undefined;
    if (leap === 'Normal' && offset !== undefined && offset < 0.1) return { ...base, status: 'PASS', detail: `chronyc: synchronised, ${offset} s ${off![2]}` };
    if (leap === 'Normal') return { ...base, status: 'WARN', detail: `chronyc: synchronised but ${offset ?? '?'} s ${off?.[2] ?? 'off'}`, fix: 'let chrony converge (chronyc makestep), check its sources (chronyc sources)' };
    return { ...base, status: 'FAIL', detail: `chronyc: leap status ${leap ?? 'unknown'} (not synchronised)`, fix };
  } else tried.push(`chronyc cannot answer (${(ch.stderr || ch.stdout).trim().split('\n')[0] || `exit ${ch.status}`})`);
  if (host.readFile('/run/systemd/timesync/synchronized') !== undefined) return { ...base, status: 'PASS', detail: 'systemd-timesyncd: /run/systemd/timesync/synchronized present' };
  tried.push('no /run/systemd/timesync/synchronized');
  return { ...base, status: 'WARN', detail: `cannot be checked here: ${tried.join('; ')}`, fix: `make sure the host synchronises its clock; ${fix}` };
}

export function hostChecks(host: HostProbe): CheckResult[] {
  return [checkCpuGovernor(host), checkCpuFeatures(host), checkMemlock(host), checkOpenFiles(host), checkSocketBuffers(host), checkVmLimits(host), checkClockSync(host)];
}
