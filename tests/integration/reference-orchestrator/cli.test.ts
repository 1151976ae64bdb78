import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../helpers/tmp.js';
import { call } from './agent-wire.js';

const CLI = ['--import', 'tsx', 'reference-orchestrator/cli.ts'];
let server: ResultPromise | undefined;
afterEach(async () => {
  server?.kill('SIGTERM');
  await server?.catch(() => undefined);
  server = undefined;
});

async function firstJson(proc: ResultPromise): Promise<{ url: string; admin_token_file: string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      try {
        resolve(JSON.parse(buf) as { url: string; admin_token_file: string });
      } catch {
        // keep reading until the JSON object is complete
      }
    });
    proc.catch(reject);
  });
}

describe('orchestrator CLI', () => {
  it('serve + admin commands over --url, and direct --db mode', async () => {
    const dir = tempDir();
    const db = join(dir, 'orch.db');
    const env = { ...process.env };
    delete env.ORCH_ADMIN_TOKEN;
    server = execa('node', [...CLI, 'serve', '--db', db, '--port', '0'], { env, extendEnv: false });
    const info = await firstJson(server);
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(info.admin_token_file).mode & 0o777).toBe(0o600);
    const token = readFileSync(info.admin_token_file, 'utf8').trim();
    const cli = async (...args: string[]): Promise<unknown> =>
      JSON.parse((await execa('node', [...CLI, '--url', info.url, ...args], { env: { ORCH_ADMIN_TOKEN: token } })).stdout);

    const enr = (await cli('enroll-token', 'create')) as { token: string };
    const reg = await call(info.url, 'POST', '/register', { token: enr.token, key: 'reg:cli', body: { instance_id: 'cli', capabilities: ['task:check'] } });
    expect(reg.status).toBe(201);
    const agents = (await cli('agents')) as Array<{ agent_id: string }>;
    expect(agents.map((a) => a.agent_id)).toEqual([reg.json.agent_id]);
    const task = (await cli('task', 'create', '--agent', reg.json.agent_id, '--type', 'check', '--params', '{"read_data_subset":"5%"}')) as {
      task_id: string;
      state: string;
    };
    expect(task.state).toBe('pending');
    const poll = await call(info.url, 'GET', '/tasks?wait=0&capacity=1', { token: reg.json.agent_token });
    expect(poll.json.tasks[0]).toMatchObject({ task_id: task.task_id, params: { read_data_subset: '5%' } });
    expect(((await cli('task', 'cancel', task.task_id)) as { state: string }).state).toBe('cancelled');
    expect(((await cli('logs', task.task_id)) as { attempts: unknown[] }).attempts).toEqual([]);

    // Direct database mode sees the same state.
    const shown = JSON.parse((await execa('node', [...CLI, '--db', db, 'task', 'show', task.task_id])).stdout) as { state: string };
    expect(shown.state).toBe('cancelled');
    const bad = await execa('node', [...CLI, '--db', db, 'task', 'create', '--type', 'backup', '--params', '{}'], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('paths');
  });
});
