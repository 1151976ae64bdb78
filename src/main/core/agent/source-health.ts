import type { SourceHealth } from '../../../shared/model/status.js';
import type { AgentConfig } from '../config/types.js';
import { redact } from '../log/redact.js';
import { withPluginContext } from '../plugins/context.js';
import { sourcePlugin } from '../plugins/registry.js';
import type { SecretStore } from '../secrets/secret-store.js';

/** How long one source's health check may take (a server that does not answer is unhealthy, not a hang). */
const CHECK_TIMEOUT_MS = 10_000;

/**
 * The health line of each plugin source whose plugin has one ("PostgreSQL 15.4, 3 databases"): asked at start,
 * then on a slow timer (a database round trip an hour), and shown by `status`, the desktop and the heartbeat.
 */
export class SourceHealthMonitor {
  readonly #last = new Map<string, SourceHealth>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: () => { readonly config: AgentConfig; readonly secrets: SecretStore },
    private readonly onChange: () => void,
  ) {}

  /** The last health seen per source id. */
  last(): ReadonlyMap<string, SourceHealth> {
    return this.#last;
  }

  /** Asks every plugin source that can say (in parallel, each bounded by a timeout). */
  async check(): Promise<void> {
    const { config, secrets } = this.deps();
    const ids = new Set(config.sources.map((s) => s.path));
    for (const id of this.#last.keys()) if (!ids.has(id)) this.#last.delete(id);
    await Promise.all(
      config.sources.map(async (source) => {
        const plugin = source.plugin;
        const health = plugin ? sourcePlugin(plugin.kind).health : undefined;
        if (!plugin || !health) return;
        const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
        let result: SourceHealth;
        try {
          const line = await withPluginContext({ kind: plugin.kind, dataDir: config.agent.dataDir, secrets, signal }, (ctx) =>
            Promise.race([
              health(plugin.instance, ctx),
              new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('no answer within 10 s')), { once: true })),
            ]),
          );
          result = { ok: true, line: redact(line), checkedAt: new Date().toISOString() };
        } catch (e) {
          result = { ok: false, line: redact((e as Error).message), checkedAt: new Date().toISOString() };
        }
        this.#last.set(source.path, result);
      }),
    );
    this.onChange();
  }

  start(intervalMs: number): void {
    this.stop();
    void this.check();
    this.#timer = setInterval(() => void this.check(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
