/**
 * `npm run demo`: the whole pull-based system in one command, on loopback, in a temp dir.
 *
 * Reference orchestrator → local restic repository and a small source tree → enrollment token → a REAL
 * `restic-agent enroll` and `restic-agent run` → a backup task and then a check task queued through the admin
 * API (repository credentials travel with the task) → status transitions, progress and log lines as the
 * orchestrator receives them → the snapshot id the orchestrator got is looked up with `restic snapshots --json`
 * → PASS/FAIL summary, everything stopped, temp dir removed. Exit code 0 on PASS, 1 on FAIL.
 *
 * `DEMO_KEEP=1` keeps the temp dir for a look around.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AdminTaskView } from '../reference-orchestrator/testing/index.js';
import type { ManagedStack } from '../bench/_managed-harness.js';
import { restic, startManagedStack, TERMINAL_STATES, waitFor } from '../bench/_managed-harness.js';

const t0 = Date.now();
const DEADLINE_MS = 90_000;
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const stamp = (): string => paint('2', `+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`);
const say = (s: string): void => void process.stdout.write(`${stamp()} ${s}\n`);
const head = (s: string): void => void process.stdout.write(`\n${paint('1', `== ${s}`)}\n`);

/** A small tree with enough data (~36 MB, incompressible) that restic reports progress for a few seconds. */
function makeSourceTree(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (let d = 0; d < 6; d++) {
    const dir = join(root, `project-${d}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'README.txt'), `Demo project ${d}\n`.repeat(20));
    for (let f = 0; f < 20; f++) {
      const data = randomBytes(300_000);
      writeFileSync(join(dir, `data-${f}.bin`), data);
      files += 1;
      bytes += data.length;
    }
    files += 1;
  }
  return { files, bytes };
}

const checks: Array<{ ok: boolean; what: string }> = [];
const check = (ok: boolean, what: string): boolean => {
  checks.push({ ok, what });
  say(`${ok ? paint('32', 'ok  ') : paint('31', 'FAIL')} ${what}`);
  return ok;
};

/** Follows a task on the orchestrator (admin API): state transitions, progress and new log lines. */
async function follow(stack: ManagedStack, task: AdminTaskView): Promise<AdminTaskView> {
  let last = '';
  let seenLog = 0;
  const admin = stack.orch.admin;
  const printLogs = async (): Promise<boolean> => {
    const logs = await admin.getLogs(task.task_id);
    const a = logs.attempts.at(-1);
    for (const e of a?.entries ?? []) {
      if (e.seq <= seenLog) continue;
      seenLog = e.seq;
      say(`  ${paint('36', 'task log')} #${e.seq} ${String(e.level).padEnd(5)} ${String(e.src)}: ${String(e.msg)}`);
    }
    return a?.complete ?? false;
  };
  for (;;) {
    const t = await admin.getTask(task.task_id);
    const att = t.attempts.at(-1);
    const p = att?.status?.progress as
      { percent?: number; files_done?: number; total_files?: number; bytes_done?: number; total_bytes?: number } | null | undefined;
    const progress =
      p && typeof p.percent === 'number'
        ? ` — read ${(p.percent * 100).toFixed(0)}%, ${p.files_done ?? 0}/${p.total_files ?? '?'} files, ${mb(p.bytes_done)}/${mb(p.total_bytes)}`
        : '';
    const line = `task ${t.state}${att ? `, attempt ${att.attempt} ${att.state}, status report #${att.status_seq}` : ''}${progress}`;
    if (line !== last) say(`  ${paint('33', 'status  ')} ${line}`);
    last = line;
    await printLogs();
    if (TERMINAL_STATES.has(t.state)) {
      // The terminal status goes first; the last log batch follows within the log flush interval.
      const complete = await waitFor(printLogs, 'the final log batch', 10_000, 200).catch(() => false);
      check(complete === true, `task log of ${t.task_id} is complete on the orchestrator (${seenLog} line(s), final batch received)`);
      return t;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const mb = (n: number | undefined): string => `${((n ?? 0) / 1e6).toFixed(1)} MB`;

/** Files under `dir` that contain `needle` (the repository password must be in none of them). */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) hits.push(...filesContaining(p, needle));
    else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
  }
  return hits;
}

async function main(): Promise<boolean> {
  head('1. Orchestrator, repository, enrollment, agent');
  const stack = await startManagedStack({
    prefix: 'restic-agent-demo-',
    // Faster than the spec defaults (10 s / 2 s) so a 2-second backup shows progress and its logs promptly.
    orchestratorOptions: { progressIntervalS: 1, logFlushIntervalMs: 500 },
    step: say,
  });
  current = stack;
  try {
    const printAgent = stack.agent.onLine((l) => say(`  ${paint('35', 'agent')}    ${l.level.toUpperCase().padEnd(5)} ${l.message}`));
    for (const l of stack.agent.lines) say(`  ${paint('35', 'agent')}    ${l.level.toUpperCase().padEnd(5)} ${l.message}`);

    const src = join(stack.dir, 'demo-source');
    const tree = makeSourceTree(src);
    say(`demo source tree ${src}: ${tree.files} files, ${mb(tree.bytes)}`);

    head('2. Backup task (queued through the admin API, pulled by the agent)');
    say('the agent long-polls the orchestrator; after a start it waits a random 0–10 s before its first poll (spreads a fleet)');
    // Throttled to 6 MiB/s (restic --limit-upload) so this small backup runs long enough to report progress.
    const backup = await stack.createTask('backup', { paths: [src], tags: ['demo'], limit_upload_kib: 6144 });
    say(`created ${backup.task_id} (state ${backup.state}); repo password and env are part of the task, not the agent config`);
    const b = await follow(stack, backup);
    const snap = (b.result?.restic as { snapshot_id?: string } | null | undefined)?.snapshot_id ?? null;
    check(b.state === 'succeeded', `backup task ${b.task_id} succeeded`);
    check(typeof snap === 'string' && /^[0-9a-f]{64}$/.test(snap), `orchestrator received snapshot id ${snap ?? '(none)'}`);

    head('3. Check task');
    const chk = await stack.createTask('check', {});
    say(`created ${chk.task_id}`);
    const c = await follow(stack, chk);
    check(c.state === 'succeeded', `check task ${c.task_id} succeeded`);
    const latency = Date.parse(c.attempts.at(-1)?.claimed_at ?? '') - Date.parse(c.created_at);
    say(`dispatch: created → claimed by the agent in ${latency} ms (the agent's poll was already parked on the server)`);

    head('4. Verify with restic itself');
    const snaps = JSON.parse(await restic(stack.resticBin, stack.repo, ['snapshots', '--json'])) as Array<{ id: string; tags?: string[]; paths?: string[] }>;
    const hit = snaps.find((s) => s.id === snap);
    say(`restic snapshots --json: ${snaps.length} snapshot(s): ${snaps.map((s) => `${s.id.slice(0, 8)} tags=${(s.tags ?? []).join(',')}`).join('; ')}`);
    check(hit !== undefined, `snapshot ${snap?.slice(0, 8) ?? '?'} is in the repository`);
    check(hit?.tags?.includes(`task=${backup.task_id}`) ?? false, `it carries the reconcile tag task=${backup.task_id}`);
    check(hit?.paths?.includes(src) ?? false, `it contains ${src}`);
    const leaked = filesContaining(stack.dataDir, stack.repo.password).concat(
      filesContaining(join(stack.configFile, '..'), stack.repo.password).filter((f) => f === stack.configFile),
    );
    check(leaked.length === 0, `the repository password is in none of the agent's files${leaked.length ? ` (found in ${leaked.join(', ')})` : ''}`);

    head('5. Stop');
    const agentExit = await stack.agent.stop();
    printAgent();
    check(agentExit === 0, `agent stopped cleanly on SIGTERM (exit code ${String(agentExit)})`);
    const online = (await stack.orch.admin.getAgent(stack.agentId)).online;
    check(!online, 'the orchestrator shows the agent offline at once (final heartbeat)');
  } finally {
    const keep = process.env.DEMO_KEEP === '1';
    current = null;
    await stack.close(keep);
    say(keep ? `kept ${stack.dir}` : `stopped the orchestrator and removed ${stack.dir}`);
  }
  return checks.every((c) => c.ok);
}

/** The running stack, so Ctrl-C still stops the agent and removes the temp dir. */
let current: ManagedStack | null = null;
process.once('SIGINT', () => {
  process.stdout.write('\ninterrupted: stopping the agent and the orchestrator…\n');
  void (current?.close() ?? Promise.resolve()).finally(() => process.exit(130));
});

const timer = setTimeout(() => {
  process.stdout.write(`\n${paint('31', 'FAIL')}: the demo did not finish within ${DEADLINE_MS / 1000} s\n`);
  process.exit(1);
}, DEADLINE_MS);
timer.unref();

let ok = false;
try {
  ok = await main();
} catch (e) {
  check(false, `demo aborted: ${(e as Error).message}`);
}
const failed = checks.filter((c) => !c.ok);
process.stdout.write(
  `\n${ok ? paint('32;1', 'PASS') : paint('31;1', 'FAIL')}: ${checks.length - failed.length}/${checks.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
    (failed.length ? `\n${failed.map((c) => `  - ${c.what}`).join('\n')}` : '') +
    '\n',
);
process.exitCode = ok ? 0 : 1;
