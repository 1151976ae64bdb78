// Child process for the keyring integration test: opens the SecretStore with the backend given in argv and
// prints what was chosen as JSON. Run in a separate process because libsecret binds to the D-Bus session
// once per process, so the parent cannot switch buses.
import { openSecretStore } from '../../../src/main/core/secrets/open-secret-store.js';

const [backend = 'auto', dataDir = '.'] = process.argv.slice(2);
if (backend !== 'auto' && backend !== 'keyring' && backend !== 'file') throw new Error(`bad backend ${backend}`);
try {
  const store = await openSecretStore({ backend, file: null }, dataDir, { probeTimeoutMs: 10_000 });
  await store.set('child:check', 'value-from-child');
  const back = await store.get('child:check');
  await store.delete('child:check');
  process.stdout.write(JSON.stringify({ ok: true, backend: store.backend, fallbackReason: store.fallbackReason, back }));
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }));
}
