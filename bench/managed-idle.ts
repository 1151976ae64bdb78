/**
 * Managed mode, idle cost: one enrolled `restic-agent run` process with nothing to do, behind the fault proxy
 * (which logs every request it forwards to the reference orchestrator), over a window.
 *
 * Figures: requests per minute the orchestrator sees (target ≤ 4: one heartbeat every 30 s plus one long poll
 * held up to 50 s), split by route; the agent's RSS (VmRSS from /proc/<pid>/status: at the end and the peak of
 * samples every 5 s) and CPU seconds (utime + stime from /proc/<pid>/stat) over the window.
 *
 * The window is 5 minutes; `BENCH_IDLE_WINDOW_S=60` shortens it for a quick run.
 * Standalone: `node --import tsx bench/managed-idle.ts`.
 */
import { pathToFileURL } from 'node:url';
import type { Figure } from './index.js';
import { envSeconds, procSample, startManagedStack, waitFor } from './_managed-harness.js';

export default async function managedIdle(windowS = envSeconds('BENCH_IDLE_WINDOW_S', 300)): Promise<Figure[]> {
  const stack = await startManagedStack({ prefix: 'rma-bench-idle-', proxy: true });
  try {
    const proxy = stack.proxy!;
    // Start counting once the agent is in its steady state: first heartbeat sent and first long poll parked.
    await waitFor(() => proxy.log.some((e) => e.method === 'GET' && e.path.endsWith('/agent/tasks')), 'the first long poll', 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    const from = proxy.log.length;
    const cpu0 = procSample(stack.agent.pid).cpuSeconds;
    const t0 = performance.now();
    let rssPeak = 0;
    const sample = (): void => {
      rssPeak = Math.max(rssPeak, procSample(stack.agent.pid).rssBytes);
    };
    sample();
    const sampler = setInterval(sample, 5000);
    await new Promise((r) => setTimeout(r, windowS * 1000));
    clearInterval(sampler);
    const end = procSample(stack.agent.pid);
    const minutes = (performance.now() - t0) / 60_000;
    const seen = proxy.log.slice(from);
    const byRoute = new Map<string, number>();
    for (const e of seen) {
      const route = `${e.method} ${e.path.replace(/^\/api\/v1\/agent/, '')}`;
      byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
    }
    const cpu = end.cpuSeconds - cpu0;
    process.stderr.write(`  window ${(minutes * 60).toFixed(0)} s: ${seen.length} requests (${[...byRoute].map(([r, n]) => `${r} ×${n}`).join(', ')})\n`);
    return [
      { name: 'requests per minute (all)', value: seen.length / minutes, unit: 'req/min', target: '≤ 4' },
      ...[...byRoute].map(([route, n]) => ({ name: `requests per minute: ${route}`, value: n / minutes, unit: 'req/min' })),
      { name: 'agent RSS at the end', value: end.rssBytes / 2 ** 20, unit: 'MiB' },
      { name: 'agent RSS peak (5 s samples)', value: Math.max(rssPeak, end.rssBytes) / 2 ** 20, unit: 'MiB' },
      { name: 'agent CPU time over the window', value: cpu, unit: 's' },
      { name: 'agent CPU, share of one core', value: (cpu / (minutes * 60)) * 100, unit: '%' },
      { name: 'window', value: minutes * 60, unit: 's', target: '300 (BENCH_IDLE_WINDOW_S)' },
    ];
  } finally {
    await stack.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const f of await managedIdle()) console.log(`${f.name}: ${f.value.toFixed(3)} ${f.unit} ${f.target ?? ''}`);
}
