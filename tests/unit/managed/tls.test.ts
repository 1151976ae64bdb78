import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorClient } from '../../../src/main/core/managed/v1/client.js';
import { makePki } from '../../helpers/pki.js';
import { tempDir } from '../../helpers/tmp.js';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

describe('TLS with a private CA and a CA pin', () => {
  it('connects with caFile, accepts a matching pin, and refuses a wrong pin before sending the token', async () => {
    const pki = makePki(tempDir());
    let requests = 0;
    server = createServer({ key: pki.key, cert: pki.cert }, (_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"tasks":[]}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const identity = { agentVersion: '0.1.0', resticVersion: null, bootId: 'b' };
    const token = () => 'bka_secret_token_value';

    const noCa = new OrchestratorClient({ url, token, identity });
    const r0 = await noCa.heartbeat({});
    expect(r0.ok).toBe(false); // unknown CA: verification stays on
    expect(requests).toBe(0);

    const good = new OrchestratorClient({ url, token, identity, caFile: pki.caFile, caPin: pki.caPin });
    expect((await good.heartbeat({})).ok).toBe(true);
    expect(requests).toBe(1);

    const wrongPin = `spki-sha256:${Buffer.alloc(32, 1).toString('base64')}`;
    const bad = new OrchestratorClient({ url, token, identity, caFile: pki.caFile, caPin: wrongPin });
    const r2 = await bad.heartbeat({});
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.message).toMatch(/CA pin/);
    expect(requests).toBe(1); // nothing was sent to the unpinned server
    await Promise.all([noCa.close(), good.close(), bad.close()]);
  });
});
