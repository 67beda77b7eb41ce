import { healthRoutes, requireLoopbackHost, requireToken, type ComponentHealth, type Route } from './http.js';
import { liveRoutes } from './live-page.js';
import { LogThrottle } from './log-throttle.js';
import type { Logger } from './logger.js';
import type { SnapshotHub } from './snapshot-hub.js';

export interface HealthEndpointRoutesOptions {
  /** Each component's readiness (`/health/ready`, `/health`). */
  components: () => ComponentHealth[];
  /** The snapshot behind `/status` and the live page. */
  snapshots: SnapshotHub;
  /**
   * Set when the endpoint is bound off loopback: `/status` and the live page need this token
   * (requireToken). Without it (a loopback bind) they answer only requests whose Host names
   * loopback (requireLoopbackHost).
   */
  token?: { accepts: (presented: string) => boolean; hint: string };
  /** Refused requests are logged here (at most once per 10 s, with the count held back). */
  logger?: Logger;
}

/**
 * The health port's routes as `cwts-ultra run` serves them. `/health/live`, `/health/ready`,
 * `/health` and (on its own port) `/metrics` stay open: probes and Prometheus carry no
 * credentials. The health routes reveal no positions; `/metrics` carries cwts_position and
 * cwts_equity by design (docs/monitoring.md: keep its port reachable only by Prometheus off
 * loopback). The operator routes, `/status`, `/` (the live
 * page) and `/events` (its stream), show positions, orders and P&L: off loopback they need the
 * control token; on loopback a request addressed to any other host name (DNS rebinding from a
 * web page in a browser on the trading host) gets 403.
 */
export function healthEndpointRoutes(o: HealthEndpointRoutesOptions): Record<string, Route> {
  const { '/status': status, ...probes } = healthRoutes(o.components, () => o.snapshots.currentJson());
  const operator: Record<string, Route> = { '/status': status!, ...liveRoutes(o.snapshots) };
  if (o.token) return { ...probes, ...requireToken(operator, o.token.accepts, o.token.hint) };
  const throttle = new LogThrottle(() => performance.now());
  const onRefused = (path: string, host: string): void => {
    const more = throttle.take('host');
    if (more !== undefined) o.logger?.warn({ path, host }, `health endpoint: ${path} refused (403): Host ${JSON.stringify(host)} is not loopback${more}`);
  };
  return { ...probes, ...requireLoopbackHost(operator, onRefused) };
}
