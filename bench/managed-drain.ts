/**
 * Managed mode, outbox drain after an outage while a busy backup runs.
 *
 * A real `restic-agent run` process talks to the reference orchestrator through the fault proxy (which logs every
 * request). A backup task starts: real restic, throttled with `limit_upload_kib` so that it runs for about 75 % of
 * the outage, wrapped by a small shell script that also prints `BENCH_DRAIN_LINES_PER_S` (default 20) stderr lines
 * per second while restic runs, so the agent produces log lines as well as progress reports (every 10 s, the spec
 * default). Once the task is `running`, the orchestrator is stopped (the proxy then answers 502, as a reverse proxy
 * in front of a dead server would). After the outage — extended if needed until restic has exited, so the outbox
 * holds the whole task — the orchestrator restarts on the same port and database.
 *
 * Measured from the restart: time to the first answered request (reconnect), and time until the admin API shows the
 * final status AND a complete task log (every line up to the terminal `log_seq` acknowledged, none dropped) —
 * i.e. the outbox has drained; plus the peak requests per second over any 1 s window during the drain, and how
 * long a task created right after the drain waits to be claimed (is the long poll back?).
 *
 * Default outage 10 minutes (the issue's figure); `BENCH_DRAIN_OUTAGE_S=60` for a quick run.
 * Standalone: `node --import tsx bench/managed-drain.ts`.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Figure } from './index.js';
import { envSeconds, resticBinary, startManagedStack, TERMINAL_STATES, waitFor } from './_managed-harness.js';

const LIMIT_KIB_S = 256;

/** A restic wrapper: passes everything through; for `backup` also prints `perSecond` stderr lines/s and marks the exit. */
function writeWrapper(dir: string, real: string, perSecond: number, marker: string): string {
  const file = join(dir, 'restic-busy');
  const burst = Math.max(1, Math.round(perSecond / 5));
  writeFileSync(
    file,
    `#!/bin/sh
case " $* " in *" backup "*) ;; *) exec ${JSON.stringify(real)} "$@" ;; esac
${JSON.stringify(real)} "$@" &
pid=$!
trap 'kill -INT $pid' INT TERM
n=0
while kill -0 $pid 2>/dev/null; do
  i=0
  while [ $i -lt ${burst} ]; do n=$((n+1)); i=$((i+1)); echo "bench: busy backup still running, line $n" >&2; done
  sleep 0.2
done
wait $pid
rc=$?
date +%s%3N > ${JSON.stringify(marker)}
exit $rc
`,
  );
  chmodSync(file, 0o755);
  return file;
}

export default async function managedDrain(
  outageS = envSeconds('BENCH_DRAIN_OUTAGE_S', 600),
  linesPerS = envSeconds('BENCH_DRAIN_LINES_PER_S', 20),
): Promise<Figure[]> {
  const work = mkdtempSync(join(tmpdir(), 'rma-bench-drain-data-'));
  const marker = join(work, 'restic-exited');
  const stack = await startManagedStack({ prefix: 'rma-bench-drain-', proxy: true, agentRestic: writeWrapper(work, resticBinary(), linesPerS, marker) });
  try {
    const proxy = stack.proxy!;
    const admin = stack.orch.admin;
    // Incompressible data sized for ~75 % of the outage at LIMIT_KIB_S.
    const src = join(work, 'src');
    mkdirSync(src);
    const mib = Math.max(2, Math.round((outageS * 0.75 * LIMIT_KIB_S) / 1024));
    for (let i = 0; i < mib; i++) writeFileSync(join(src, `blob-${i}.bin`), randomBytes(1 << 20));

    const task = await stack.createTask('backup', { paths: [src], limit_upload_kib: LIMIT_KIB_S });
    await waitFor(async () => (await admin.getTask(task.task_id)).state === 'running', 'the backup to be running', 30_000, 50);
    const outageStart = performance.now();
    await stack.orch.stop();
    process.stderr.write(`  backup of ${mib} MiB at ${LIMIT_KIB_S} KiB/s running; orchestrator stopped for ${outageS} s\n`);
    await new Promise((r) => setTimeout(r, outageS * 1000));
    const beforeExtend = performance.now();
    await waitFor(() => existsSync(marker), 'restic to exit during the outage', 3_600_000, 1000);
    const extendedS = (performance.now() - beforeExtend) / 1000;
    const outage = (performance.now() - outageStart) / 1000;
    const resticExitMs = Number(readFileSync(marker, 'utf8').trim());

    // Back up: count requests per sampling tick to find the peak rate.
    const from = proxy.log.length;
    const ticks: Array<{ t: number; n: number }> = [{ t: 0, n: 0 }];
    const t0 = performance.now();
    await stack.orch.restart(0);
    const sampler = setInterval(() => ticks.push({ t: performance.now() - t0, n: proxy.log.length - from }), 50);
    const reconnectMs = await waitFor(
      () => {
        const ok = proxy.log.slice(from).find((e) => e.status !== null && e.status < 300);
        return ok ? performance.now() - t0 : null;
      },
      'the agent to reconnect',
      900_000,
      20,
    );
    const done = await waitFor(
      async () => {
        const t = await admin.getTask(task.task_id);
        if (!TERMINAL_STATES.has(t.state)) return null;
        const log = (await admin.getLogs(task.task_id)).attempts.at(-1);
        return log?.complete ? { t, log, at: performance.now() - t0, n: proxy.log.length - from } : null;
      },
      'the outbox to drain (final status + complete log)',
      900_000,
      50,
    );
    clearInterval(sampler);
    // A new task right after the drain: is the long poll back too, or still in its offline backoff (cap 300 s)?
    const probe = await stack.createTask('check', {});
    const probeDone = await stack.waitTerminal(probe.task_id, 900_000);
    const probeDispatch = Date.parse(probeDone.attempts.at(-1)?.claimed_at ?? '') - Date.parse(probe.created_at);

    const requests = proxy.log.slice(from, from + done.n);
    let peak = 0;
    for (const a of ticks) peak = Math.max(peak, ticks.findLast((k) => k.t <= a.t + 1000)!.n - a.n);
    const entries = done.log.entries;
    const gapless = entries.every((e, i) => e.seq === i + 1);
    const att = done.t.attempts.at(-1)!;
    const byRoute = new Map<string, number>();
    for (const e of requests) {
      const route = `${e.method} ${e.path.replace(/^\/api\/v1\/agent/, '').replace(/\/tasks\/[^/]+\/status$/, '/tasks/{id}/status')}`;
      byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
    }
    process.stderr.write(
      `  outage ${outage.toFixed(0)} s (extended by ${extendedS.toFixed(0)} s until restic exited); restic exited ${((Date.now() - resticExitMs) / 1000).toFixed(0)} s before now\n` +
        `  task ${done.t.state}; log lines ${entries.length} (hwm ${done.log.hwm}, terminal ${String(done.log.terminal_log_seq)}, dropped ${done.log.dropped}, gapless ${gapless}); ` +
        `${att.reports.length} status reports; drain requests: ${[...byRoute].map(([r, n]) => `${r} ×${n}`).join(', ')}\n`,
    );
    if (!gapless || done.log.dropped > 0) throw new Error('the task log has gaps or dropped lines');
    return [
      { name: 'restart → first answered request (reconnect)', value: reconnectMs / 1000, unit: 's' },
      { name: 'restart → outbox empty (final status + complete log)', value: done.at / 1000, unit: 's' },
      { name: 'reconnect → outbox empty', value: (done.at - reconnectMs) / 1000, unit: 's' },
      { name: 'peak requests per second during drain (1 s window)', value: peak, unit: 'req/s', target: `≤ drain_max_rps (5) + heartbeat/poll` },
      { name: 'requests until drained', value: requests.length, unit: 'req' },
      { name: 'log lines delivered (complete, gapless)', value: entries.length, unit: 'lines' },
      { name: 'first task after the drain: created → claimed', value: probeDispatch / 1000, unit: 's' },
      { name: 'status reports delivered', value: att.reports.length, unit: 'reports' },
      { name: 'outage (incl. extension until restic exited)', value: outage, unit: 's', target: `${outageS} (BENCH_DRAIN_OUTAGE_S)` },
    ];
  } finally {
    await stack.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of await managedDrain()) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} ${f.target ?? ''}`);
}
