import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { atomicWriteFile } from '../config/atomic-write.js';

const check = z.object({
  at: z.string(),
  result: z.enum(['up-to-date', 'available', 'refused', 'error']),
  message: z.string(),
  latest: z.string().nullable(),
});
const attempt = z.object({
  at: z.string(),
  from: z.string(),
  to: z.string(),
  result: z.enum(['applied', 'refused', 'failed', 'rolled-back']),
  message: z.string(),
});
const schema = z.object({
  lastCheck: check.nullable().default(null),
  lastUpdate: attempt.nullable().default(null),
  /** Versions that failed their health check here: not tried again automatically. */
  failedVersions: z.array(z.string()).default([]),
  /** Swapped in, and not yet seen running: the new version confirms it at start. */
  pending: z.object({ at: z.string(), from: z.string(), to: z.string() }).nullable().default(null),
});
export type UpdateState = z.output<typeof schema>;
export type UpdateCheck = z.output<typeof check>;
export type UpdateAttempt = z.output<typeof attempt>;

const EMPTY: UpdateState = { lastCheck: null, lastUpdate: null, failedVersions: [], pending: null };

/** `update.json` in the data dir: the last check and update, read by `status` and the heartbeat. */
export class UpdateStateFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'update.json');
  }

  read(): UpdateState {
    try {
      return schema.parse(JSON.parse(readFileSync(this.path, 'utf8')));
    } catch {
      return EMPTY; // missing, or unreadable: it holds only history
    }
  }

  async change(fn: (s: UpdateState) => UpdateState): Promise<UpdateState> {
    const next = fn(this.read());
    await atomicWriteFile(this.path, `${JSON.stringify(next, null, 2)}\n`, 0o644);
    return next;
  }
}
