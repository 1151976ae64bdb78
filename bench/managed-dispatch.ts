/**
 * Managed mode, dispatch latency: from task creation on the orchestrator to restic starting on the agent.
 *
 * A real `restic-agent run` process, enrolled with the reference orchestrator on loopback (spec defaults: 50 s
 * long poll, 30 s heartbeat), gets N small `check` tasks one after another, each created after a random idle gap
 * of 0.2–1 s (tasks arrive while the agent's long poll is parked, as they would in production).
 *
 * "restic start" is the timestamp of the agent's own log line `restic … check`, which the restic wrapper writes
 * immediately before it spawns the process (agent wall clock, `--log-format json`); "created" is the task's
 * `created_at` on the orchestrator. Both clocks are this machine's. For comparison, the figures also give
 * created → claim received by the orchestrator (server clock only).
 *
 * Targets: p50 ≤ 200 ms, p99 ≤ 1 s. The existing Go agent polls every 30 s: mean 15 s, worst 30 s.
 *
 * Standalone: `node --import tsx bench/managed-dispatch.ts [tasks]` (default 60; env BENCH_DISPATCH_TASKS).
 */
import { pathToFileURL } from 'node:url';
import type { Figure } from './index.js';
import { mean, percentile, startManagedStack, waitFor } from './_managed-harness.js';

/** The existing Go agent's design: a poll every 30 s, so a task waits 15 s on average, 30 s at worst. */
const GO_POLL_S = 30;

export default async function managedDispatch(tasks = Number(process.env.BENCH_DISPATCH_TASKS ?? 60)): Promise<Figure[]> {
  const stack = await startManagedStack({ prefix: 'rma-bench-dispatch-' });
  try {
    // Warm-up: the agent waits a random 0–10 s before its first poll after start (fleet spreading); not measured.
    await stack.waitTerminal((await stack.createTask('check', {})).task_id);
    const toRestic: number[] = [];
    const toClaim: number[] = [];
    for (let i = 0; i < tasks; i++) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));
      const from = stack.agent.lines.length;
      const task = await stack.createTask('check', {});
      const done = await stack.waitTerminal(task.task_id, 60_000);
      if (done.state !== 'succeeded') throw new Error(`task ${task.task_id} ended ${done.state}: ${JSON.stringify(done.result)}`);
      const spawn = await waitFor(
        () => stack.agent.lines.slice(from).find((l) => /^restic\b.*\bcheck$/.test(l.message)),
        `the agent's "restic … check" log line for ${task.task_id}`,
        5000,
        20,
      );
      const created = Date.parse(task.created_at);
      toRestic.push(Date.parse(spawn.time) - created);
      toClaim.push(Date.parse(done.attempts.at(-1)?.claimed_at ?? '') - created);
    }
    const p50 = percentile(toRestic, 50);
    const p99 = percentile(toRestic, 99);
    process.stderr.write(
      `  ${tasks} check tasks; created → restic spawn (ms): ${toRestic.join(' ')}\n` + `  created → claim received (ms): ${toClaim.join(' ')}\n`,
    );
    return [
      { name: 'created → restic start, p50', value: p50, unit: 'ms', target: '≤ 200' },
      { name: 'created → restic start, p99', value: p99, unit: 'ms', target: '≤ 1000' },
      { name: 'created → restic start, mean', value: mean(toRestic), unit: 'ms' },
      { name: 'created → restic start, max', value: Math.max(...toRestic), unit: 'ms' },
      { name: 'created → claim received by the orchestrator, p50', value: percentile(toClaim, 50), unit: 'ms' },
      { name: 'created → claim received by the orchestrator, p99', value: percentile(toClaim, 99), unit: 'ms' },
      { name: `Go agent (poll every ${GO_POLL_S} s) mean wait / this p50`, value: ((GO_POLL_S / 2) * 1000) / p50, unit: '×' },
      { name: `Go agent worst wait (${GO_POLL_S} s) / this p99`, value: (GO_POLL_S * 1000) / p99, unit: '×' },
      { name: 'tasks measured', value: tasks, unit: 'tasks', target: '≥ 50' },
    ];
  } finally {
    await stack.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = process.argv[2] ? Number(process.argv[2]) : undefined;
  for (const f of await managedDispatch(n)) console.log(`${f.name}: ${f.value.toFixed(1)} ${f.unit} ${f.target ?? ''}`);
}
