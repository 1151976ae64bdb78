#!/usr/bin/env node
/**
 * Fake `restic` for the managed-mode fault suite (spec §12.1): emits `--json` status lines and stderr errors, commits
 * a "snapshot" (a line in snapshots.jsonl, tagged like the real one) just before printing its summary, exits with a
 * chosen code, handles SIGINT fast / slowly / never, and appends every invocation (argv, env keys, lease) to
 * audit.jsonl. Settings come from FAKE_* environment variables; the repository password arrives in RESTIC_PASSWORD.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const dir = env.FAKE_RESTIC_DIR;
const lease = env.FAKE_LEASE ?? '';
const task = env.FAKE_TASK ?? '';
const durationMs = Number(env.FAKE_DURATION_MS ?? '300');
const lines = Number(env.FAKE_LINES ?? '5');
const exitCode = Number(env.FAKE_EXIT ?? '0');
const sigint = env.FAKE_SIGINT ?? 'fast';
const argv = process.argv.slice(2);
const tags = argv.flatMap((a, i) => (argv[i - 1] === '--tag' ? [a] : []));
const audit = (ev) => appendFileSync(join(dir, 'audit.jsonl'), `${JSON.stringify({ ...ev, lease, task, pid: process.pid, t: Date.now() })}\n`);

audit({
  ev: 'start',
  argv,
  envKeys: Object.keys(env)
    .filter((k) => k.startsWith('RESTIC_') || k.startsWith('AWS_'))
    .sort(),
});
// Orphaned after an agent crash: the pipes are gone, keep running anyway.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
const t0 = Date.now();
let interrupted = false;
process.on('SIGINT', () => {
  if (sigint === 'never') return;
  interrupted = true;
  setTimeout(
    () => {
      audit({ ev: 'end', aborted: true, code: 130 });
      process.exit(130);
    },
    sigint === 'slow' ? 1500 : 10,
  );
});

let emitted = 0;
const tick = setInterval(() => {
  if (interrupted) return;
  const frac = Math.min(1, (Date.now() - t0) / durationMs);
  process.stdout.write(
    `${JSON.stringify({ message_type: 'status', percent_done: frac, total_files: 100, files_done: Math.round(frac * 100), total_bytes: 1e6, bytes_done: Math.round(frac * 1e6) })}\n`,
  );
  while (emitted < Math.ceil(frac * lines)) {
    emitted += 1;
    process.stderr.write(`error: lstat /data/item-${emitted}: permission denied\n`);
  }
  if (frac < 1) return;
  clearInterval(tick);
  if (exitCode === 0 || exitCode === 3) {
    const id = `${lease.replace(/[^a-z0-9]/gi, '').slice(-12)}${Date.now().toString(16)}`.padEnd(24, '0');
    // The commit point: after this line the snapshot exists, whatever happens to the agent.
    appendFileSync(join(dir, 'snapshots.jsonl'), `${JSON.stringify({ id, tags, task })}\n`);
    process.stdout.write(
      `${JSON.stringify({ message_type: 'summary', snapshot_id: id, files_new: 3, files_changed: 0, data_added: 1234, total_bytes_processed: 1e6, total_duration: durationMs / 1000 })}\n`,
    );
  }
  audit({ ev: 'end', aborted: false, code: exitCode });
  process.exitCode = exitCode;
}, 25);
