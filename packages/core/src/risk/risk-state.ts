export type RiskStateName = 'ACTIVE' | 'REDUCING' | 'HALTED';
export const RISK_STATE_CODES: Record<RiskStateName, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/** Who moved the state: the risk layer's triggers, an operator, the engine, or a restore from the journal. */
export type RiskActor = 'risk' | 'operator' | 'engine' | 'journal' | 'reconcile';

/** The kill switch. Leaving HALTED is always a deliberate, manual act. */
export class RiskState {
  state: RiskStateName = 'ACTIVE';
  reason = 'start';
  since = 0;

  constructor(private readonly onChange: (s: RiskState, from: RiskStateName, who: RiskActor) => void = () => {}) {}

  set(state: RiskStateName, reason: string, now: number, who: RiskActor = actorOf(reason)): boolean {
    if (this.state === state) return false;
    const from = this.state;
    this.state = state;
    this.reason = reason;
    this.since = now;
    this.onChange(this, from, who);
    return true;
  }
}

/** Manual control (CLI, endpoint) words its reasons "manual..."; everything else is a trigger. */
function actorOf(reason: string): RiskActor {
  return /^manual\b/.test(reason) ? 'operator' : 'risk';
}

/**
 * Component state (key RISK_CAPITAL_KEY) holding the starting capital, x 10^-18 as a decimal
 * string, that the journaled equity peaks are counted in: committed with a peak record (one
 * transaction), so a restart with another capital shifts the peak by the difference instead of
 * measuring the new capital against the old one's peak.
 */
export const RISK_CAPITAL_SCOPE = 'cwts.risk';
export const RISK_CAPITAL_KEY = 'starting_capital';
