/**
 * A managed agent in its own process, for the crash tests: `kill -9` through `RESTIC_AGENT_FAILPOINTS` (the default
 * `envFailpoint`), state in a SQLite file, the token in a file SecretStore, restic played by `fake-restic.mjs`.
 * Configured by the CHILD_AGENT JSON environment variable; logs one line per entry to stderr. The wall clock can be
 * shifted at run time over IPC (`{ clockOffsetMs }`) to simulate clock skew, steps and suspend/resume; the
 * monotonic clock is left alone. SIGTERM = graceful stop (spec §8.3).
 */
import { ManagedAgent } from '../../../../src/main/core/managed/v1/agent.js';
import { orchestratorMigrations } from '../../../../src/main/core/managed/v1/outbox.js';
import type { Tunables } from '../../../../src/main/core/managed/v1/types.js';
import type { Logger } from '../../../../src/main/core/log/logger.js';
import { FileSecretStore } from '../../../../src/main/core/secrets/file-store.js';
import { openStateDb } from '../../../../src/main/core/state/db.js';
import { ProcExecutor } from './proc-executor.js';

interface ChildConfig {
  url: string;
  dbFile: string;
  secretsFile: string;
  fakeDir: string;
  agentVersion?: string;
  tunables?: Partial<Tunables>;
  clockOffsetMs?: number;
  graceMs?: number;
}

const cfg = JSON.parse(process.env.CHILD_AGENT ?? '{}') as ChildConfig;

// A fake wall clock: Date (and so every timestamp and `sent_at`) moves, performance.now() does not.
let offset = cfg.clockOffsetMs ?? 0;
const RealDate = Date;
class ShiftedDate extends RealDate {
  constructor(...args: ConstructorParameters<typeof Date> | []) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...(args as ConstructorParameters<typeof Date>));
  }
  static override now(): number {
    return RealDate.now() + offset;
  }
}
globalThis.Date = ShiftedDate as DateConstructor;
process.on('message', (m: { clockOffsetMs?: number }) => {
  if (typeof m.clockOffsetMs === 'number') offset = m.clockOffsetMs;
});

const write = (level: string) => (message: string) => process.stderr.write(`${level} ${message}\n`);
const log: Logger = { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), forRun: () => log };

const db = openStateDb(cfg.dbFile, orchestratorMigrations);
const agent = new ManagedAgent({
  url: cfg.url,
  insecureLoopback: true,
  db,
  secrets: new FileSecretStore(cfg.secretsFile),
  executor: new ProcExecutor(cfg.fakeDir),
  agentVersion: cfg.agentVersion ?? '0.1.0',
  startupStaggerMs: 0,
  log,
  ...(cfg.tunables ? { tunables: cfg.tunables } : {}),
});
await agent.start();
process.stderr.write('info child agent started\n');
process.once('SIGTERM', () => {
  void agent.stop({ graceMs: cfg.graceMs ?? 60_000 }).then(() => {
    db.close();
    process.stderr.write('info child agent stopped\n');
    process.exit(0);
  });
});
setInterval(() => {}, 1 << 30);
