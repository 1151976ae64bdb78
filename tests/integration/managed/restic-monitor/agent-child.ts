import { rmTokenAccount } from '../../../../src/main/core/managed/restic-monitor/api.js';
/**
 * A restic-monitor agent in its own process, so a test can kill it with SIGKILL (a real crash).
 * Config comes as JSON in RM_CHILD. With `hangMarker`, a successful backup writes the marker and never returns.
 */
import { writeFileSync } from 'node:fs';
import { RmAgent } from '../../../../src/main/core/managed/restic-monitor/agent.js';
import { rmMigrations } from '../../../../src/main/core/managed/restic-monitor/store.js';
import { openStateDb } from '../../../../src/main/core/state/db.js';
import { memorySecrets } from '../../../fakes/restic-monitor-secrets.js';
import { TestResticExecutor } from './restic-executor.js';

interface ChildConfig {
  url: string;
  token: string;
  bin: string;
  repo: string;
  password: string;
  cache: string;
  db: string;
  hostname: string;
  hangMarker: string | null;
  commandsFile: string;
}

const cfg = JSON.parse(process.env.RM_CHILD ?? '{}') as ChildConfig;
const hang = cfg.hangMarker
  ? (): Promise<void> => {
      writeFileSync(cfg.hangMarker ?? '', 'snapshot made');
      return new Promise<void>(() => undefined);
    }
  : null;
const exec = new TestResticExecutor(cfg.bin, cfg.cache, hang);
const agent = new RmAgent({
  url: cfg.url,
  db: openStateDb(cfg.db, rmMigrations),
  secrets: memorySecrets({ [rmTokenAccount(cfg.url)]: cfg.token }),
  insecureLoopback: true,
  executor: exec,
  resolveRepository: (r) => (r.replace(/\/+$/, '') === cfg.repo ? { url: cfg.repo, password: { kind: 'value', value: cfg.password }, env: {} } : null),
  hostname: cfg.hostname,
  agentVersion: '0.1.0-test',
  heartbeatIntervalMs: 1000,
});
// Record each restic command as it starts (append-only, survives SIGKILL).
const origExecute = exec.execute.bind(exec);
exec.execute = (t, ctl) => {
  writeFileSync(cfg.commandsFile, `${t.type}\n`, { flag: 'a' });
  return origExecute(t, ctl);
};
process.on('SIGTERM', () => void agent.stop().then(() => process.exit(0)));
void agent.start();
