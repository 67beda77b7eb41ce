/**
 * The Host rule of the endpoints that answer only on loopback without a credential (`/status` and
 * the live page on a loopback bind) and of the kill switch (risk/control.ts, beside its token).
 * Any web page in a browser on the trading host can make requests to a loopback port through DNS
 * rebinding (`attacker.example` re-pointed at 127.0.0.1), but the request then carries
 * `Host: attacker.example:<port>`: only requests addressed to a loopback name are answered.
 */

/** Names a Host header may carry: 127.x.y.z, localhost or [::1], with an optional port. */
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(?::(\d{1,5}))?$/i;

/**
 * The port a Host header names (80 when it names none) when its name is loopback (`127.x.y.z`,
 * `localhost`, `[::1]`); undefined for any other name, or for no Host at all.
 */
export function loopbackHostPort(host: string | undefined): number | undefined {
  const m = LOOPBACK_HOST.exec(host ?? '');
  if (!m) return undefined;
  return m[2] === undefined ? 80 : Number(m[2]);
}
