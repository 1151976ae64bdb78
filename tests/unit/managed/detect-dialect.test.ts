import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { detectDialect } from '../../../src/main/core/managed/detect-dialect.js';
import { FakeResticMonitorServer } from '../../fakes/restic-monitor-server.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function tiny(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s: Server = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => s.close(r)));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe('detectDialect', () => {
  it('recognises restic-monitor with and without auth, without sending a credential or registering', async () => {
    for (const opts of [{}, { token: 'secret-token' }]) {
      const s = await FakeResticMonitorServer.start(opts);
      cleanup.push(() => s.close());
      expect(await detectDialect(s.url, { insecureLoopback: true })).toBe('restic-monitor');
      expect(s.agents.size).toBe(0);
      expect(s.requests.every((r) => r.authorization === null)).toBe(true);
    }
  });

  it('recognises a protocol-v1 orchestrator by its problem+json answers', async () => {
    const url = await tiny((_q, res) => {
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 401, code: 'token_invalid' }));
    });
    expect(await detectDialect(url, { insecureLoopback: true })).toBe('v1');
  });

  it('fails with a fix when the server is neither', async () => {
    const url = await tiny((_q, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'));
    await expect(detectDialect(url, { insecureLoopback: true })).rejects.toThrow(/set orchestrator.protocol/);
    await expect(detectDialect('http://127.0.0.1:1', { insecureLoopback: true })).rejects.toThrow(/unreachable/);
  });
});
