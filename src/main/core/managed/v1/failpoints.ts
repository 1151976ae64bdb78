/** Named crash points used by the fault suite (spec §12.1). */
export type FailpointName =
  | 'after_claim_persisted'
  | 'after_claim_acked'
  | 'after_restic_spawn'
  | 'after_restic_exit_before_persist'
  | 'after_terminal_persisted'
  | 'mid_log_batch'
  | 'after_rotate_response';

/** A hook called at each named point; the default reads `RESTIC_AGENT_FAILPOINTS`. */
export type Failpoint = (name: FailpointName) => void;

/**
 * The process-killing failpoint: when `name` is listed in `RESTIC_AGENT_FAILPOINTS=a,b` the agent dies
 * with SIGKILL on the spot (no cleanup, like a power cut). Does nothing when the variable is unset.
 */
export function envFailpoint(env: NodeJS.ProcessEnv = process.env): Failpoint {
  const armed = new Set(
    (env.RESTIC_AGENT_FAILPOINTS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  if (armed.size === 0) return () => {};
  return (name) => {
    if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
  };
}
