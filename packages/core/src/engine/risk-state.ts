export type RiskStateName = 'ACTIVE' | 'REDUCING' | 'HALTED';
export const RISK_STATE_CODES: Record<RiskStateName, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/** The kill switch. Leaving HALTED is always a deliberate, manual act. */
export class RiskState {
  state: RiskStateName = 'ACTIVE';
  reason = 'start';
  since = 0;

  constructor(private readonly onChange: (s: RiskState) => void = () => {}) {}

  set(state: RiskStateName, reason: string, now: number): boolean {
    if (this.state === state) return false;
    this.state = state;
    this.reason = reason;
    this.since = now;
    this.onChange(this);
    return true;
  }
}
