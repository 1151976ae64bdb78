/**
 * CLI of the reference orchestrator. `serve` runs the server; the other commands print JSON and talk either to a
 * running server over `/admin` (`--url`, admin token from $ORCH_ADMIN_TOKEN or `--admin-token-file`) or directly to
 * the database (`--db`; a running server picks the change up within its sweep interval).
 *
 *   node --import tsx reference-orchestrator/cli.ts serve --db state/orch.db --port 8080
 *   node --import tsx reference-orchestrator/cli.ts --db state/orch.db enroll-token create
 *   node --import tsx reference-orchestrator/cli.ts --db state/orch.db task create --agent agt_… --type backup --params '{"paths":["/home"]}'
 */
import { Command } from 'commander';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { openStateDb } from '../src/main/core/state/db.js';
import type { AdminOps } from './admin-ops.js';
import { adminOps } from './admin-ops.js';
import type { AdminClient } from './testing/index.js';
import { createAdminClient } from './testing/index.js';
import { DEFAULT_OPTIONS, systemClock } from './options.js';
import type { OrchestratorOptions } from './options.js';
import { ORCHESTRATOR_MIGRATIONS } from './schema.js';
import { createOrchestrator } from './server.js';

/** Presents the direct-database operations with the same (async) shape as the HTTP admin client. */
function opsAsClient(ops: AdminOps): AdminClient {
  const wrap = <T>(v: T): Promise<never> => Promise.resolve(v as never);
  return {
    createEnrollmentToken: (spec) => wrap(ops.createEnrollmentToken(spec)),
    revokeEnrollmentToken: (id) => wrap(ops.revokeEnrollmentToken(id)),
    createTask: (agentId, type, params, extras = {}) => wrap(ops.createTask({ agent_id: agentId, type, params, ...extras })),
    getTask: (id) => wrap(ops.getTask(id)),
    listTasks: (agentId) => wrap(ops.listTasks(agentId)),
    getLogs: (id) => wrap(ops.getLogs(id)),
    cancelTask: (id, reason) => wrap(ops.cancelTask(id, reason)),
    deleteTask: (id) => wrap(ops.deleteTask(id)),
    listAgents: () => wrap(ops.listAgents()),
    getAgent: (id) => wrap(ops.getAgent(id)),
    agentAction: (id, action) => wrap(ops.agentAction(id, action)),
    listEvents: () => wrap(ops.listEvents()),
  };
}

let serving = false;

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function parseJson(flag: string, text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new Error(`${flag} must be a JSON object, e.g. ${flag} '{"paths":["/home"]}'`);
}

function adminTokenFile(db: string): string {
  return `${db}.admin-token`;
}

/** The admin API chosen by the global flags. */
function api(program: Command): AdminClient {
  const o = program.opts<{ db?: string; url?: string; adminTokenFile?: string }>();
  const url = o.url ?? process.env.ORCH_URL;
  if (url) {
    const file = o.adminTokenFile ?? (o.db ? adminTokenFile(o.db) : undefined);
    const token = process.env.ORCH_ADMIN_TOKEN ?? (file && existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
    if (!token) throw new Error('Set ORCH_ADMIN_TOKEN or pass --admin-token-file to use --url.');
    return createAdminClient(url.replace(/\/$/, ''), token);
  }
  if (!o.db) throw new Error('Pass --db FILE (direct) or --url URL (running server).');
  const db = openStateDb(o.db, ORCHESTRATOR_MIGRATIONS);
  const opts = { ...DEFAULT_OPTIONS, adminToken: '' } as OrchestratorOptions;
  // startedAt 0: the failover grace is the server's business, not this one-shot process's.
  return opsAsClient(adminOps({ db, clock: systemClock, opts, startedAt: 0, notify: () => undefined }));
}

const program = new Command('orchestrator')
  .description('Reference orchestrator for restic-agent protocol v1')
  .option('--db <file>', 'SQLite state file (direct mode)')
  .option('--url <url>', 'URL of a running orchestrator (admin API mode; or $ORCH_URL)')
  .option('--admin-token-file <file>', 'file holding the admin token (default: <db>.admin-token)');

program
  .command('serve')
  .description('run the server (admin token: $ORCH_ADMIN_TOKEN, else generated into <db>.admin-token, mode 0600)')
  .option('--port <n>', 'TCP port', '8080')
  .option('--host <host>', 'bind address', '127.0.0.1')
  .option('--options <json>', 'server tunables, e.g. \'{"lostAfterS":60}\'')
  .action(async (o: { port: string; host: string; options?: string }) => {
    serving = true;
    const dbFile = program.opts<{ db?: string }>().db;
    if (!dbFile) throw new Error('serve needs --db FILE');
    const file = adminTokenFile(dbFile);
    let adminToken = process.env.ORCH_ADMIN_TOKEN;
    if (!adminToken) {
      adminToken = existsSync(file) ? readFileSync(file, 'utf8').trim() : `adm_${randomBytes(24).toString('base64url')}`;
      writeFileSync(file, `${adminToken}\n`, { mode: 0o600 });
      chmodSync(file, 0o600);
    }
    const options = o.options ? (parseJson('--options', o.options) as Partial<OrchestratorOptions>) : {};
    const orch = createOrchestrator({ dbFile, options: { ...options, adminToken } });
    const { url } = await orch.listen(Number(o.port), o.host);
    print({ url, agent_base_url: `${url}/api/v1/agent`, admin_token_file: process.env.ORCH_ADMIN_TOKEN ? null : file });
    const stop = (): void => void orch.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

const enroll = program.command('enroll-token').description('enrollment tokens');
enroll
  .command('create')
  .option('--ttl <s>', 'lifetime in seconds (default 3600)')
  .option('--max-uses <n>', 'uses (default 1)')
  .option('--hostname <h>', 'bind to this hostname')
  .action(async (o: { ttl?: string; maxUses?: string; hostname?: string }) => {
    print(
      await api(program).createEnrollmentToken({
        ...(o.ttl ? { ttl_s: Number(o.ttl) } : {}),
        ...(o.maxUses ? { max_uses: Number(o.maxUses) } : {}),
        ...(o.hostname ? { hostname: o.hostname } : {}),
      }),
    );
  });

const task = program.command('task').description('tasks');
task
  .command('create')
  .option('--agent <id>', 'target agent (default: any capable agent)')
  .requiredOption('--type <type>', 'backup | check | prune | forget')
  .option('--params <json>', 'task params', '{}')
  .option('--repo <json>', 'repo {repo_id,url,password,env}')
  .option('--lost-after <s>', 'lost_after_s for this task')
  .option('--max-runtime <s>', 'max_runtime_s for this task')
  .action(async (o: { agent?: string; type: string; params: string; repo?: string; lostAfter?: string; maxRuntime?: string }) => {
    const params = parseJson('--params', o.params);
    const extras = {
      ...(o.repo ? { repo: parseJson('--repo', o.repo) as { url: string } } : {}),
      ...(o.lostAfter ? { lost_after_s: Number(o.lostAfter) } : {}),
      ...(o.maxRuntime ? { max_runtime_s: Number(o.maxRuntime) } : {}),
    };
    print(await api(program).createTask(o.agent ?? null, o.type as 'backup', params, extras));
  });
task.command('show <id>').action(async (id: string) => print(await api(program).getTask(id)));
task
  .command('list')
  .option('--agent <id>')
  .action(async (o: { agent?: string }) => print(await api(program).listTasks(o.agent)));
task
  .command('cancel <id>')
  .option('--reason <r>', 'cancel reason', 'user_requested')
  .action(async (id: string, o: { reason: string }) => print(await api(program).cancelTask(id, o.reason)));
task.command('delete <id>').action(async (id: string) => print(await api(program).deleteTask(id)));
program
  .command('logs <taskId>')
  .description('stored logs of every attempt')
  .action(async (id: string) => print(await api(program).getLogs(id)));
program
  .command('agents')
  .description('registered agents')
  .action(async () => print(await api(program).listAgents()));
program
  .command('agent <id> <action>')
  .description('rotate-token | revoke-tokens | disable | enable | drain | undrain | delete')
  .action(async (id: string, action: string) => print(await api(program).agentAction(id, action)));
program
  .command('events')
  .description('security and operator events')
  .action(async () => print(await api(program).listEvents()));

program
  .parseAsync(process.argv)
  // One-shot commands exit at once instead of waiting for idle keep-alive sockets to time out.
  .then(() => {
    if (!serving) process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
    process.exit(1);
  });
