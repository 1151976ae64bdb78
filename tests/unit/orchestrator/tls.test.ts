import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorClient } from '../../../src/main/core/orchestrator/client.js';
import { spkiSha256 } from '../../../src/main/core/orchestrator/transport.js';
import { tempDir } from '../../helpers/tmp.js';

/** A private CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
function makePki(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
  const ext = join(dir, 'ext.cnf');
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${ext}`]);
  run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', ext);
  const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  const der = Buffer.from(caPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return { caFile: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.pem')), caPin: `spki-sha256:${spkiSha256(der).toString('base64')}` };
}

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
