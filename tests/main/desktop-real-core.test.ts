import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startReferenceOrchestrator, type ReferenceOrchestrator } from '../../reference-orchestrator/testing/index.js';
import { createAgentCore } from '../../src/main/core/index.js';
import type { AgentCore } from '../../src/main/core/agent/contract.js';
import { createDesktopApi } from '../../src/main/desktop-api.js';
import { registerAgentHandlers } from '../../src/main/ipc/ipc-main.js';
import { TrustedSenders, urlUnder } from '../../src/main/ipc/trusted-senders.js';
import { ShellSettings } from '../../src/main/platform/desktop-settings.js';
import { INVOKE_CHANNELS } from '../../src/shared/ipc/channels.js';
import type { IpcResult } from '../../src/shared/ipc/result.js';
import { tempDir } from '../helpers/tmp.js';
import { FakeIpcMain, FakeWebContents, ipcEvent } from './fake-electron.js';

const APP = 'file:///app/dist/renderer/index.html';
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** The desktop app's main side around a REAL agent core: IPC handlers → desktop API → core (fake login items). */
async function desktop(dir: string) {
  const configPath = join(dir, 'config.yaml');
  const core: AgentCore = await createAgentCore({ ifMissing: 'empty', configPath, dataDir: join(dir, 'data'), schedule: true });
  cleanup.push(() => core.stop());
  const loginItem = { enabled: false };
  const autoStart = { isEnabled: vi.fn(async () => loginItem.enabled), setEnabled: vi.fn(async (on: boolean) => void (loginItem.enabled = on)) };
  const ipcMain = new FakeIpcMain();
  const trusted = new TrustedSenders(urlUnder(APP));
  const window = new FakeWebContents(1);
  trusted.add(window);
  registerAgentHandlers(ipcMain, createDesktopApi(core, await ShellSettings.load(core, autoStart)), trusted, () => {});
  const invoke = async <T>(method: keyof typeof INVOKE_CHANNELS, ...args: unknown[]): Promise<T> => {
    const res = (await ipcMain.invoke(ipcEvent(window, APP), INVOKE_CHANNELS[method], ...args)) as IpcResult<T>;
    if (!res.ok) throw new Error(`${method}: ${res.error.message}`);
    return res.value;
  };
  return { core, invoke, autoStart, configPath };
}

/** A fresh, unconfigured desktop install (the shell writes the empty config; file secrets for the test). */
function install(): string {
  const dir = tempDir('rma-desktop-');
  writeFileSync(join(dir, 'config.yaml'), 'secrets: { backend: file }\n', { mode: 0o600 });
  return dir;
}

describe('desktop shell around the real agent core', () => {
  it('keeps desktop settings in the core: they survive a restart and auto-start follows them', async () => {
    const dir = install();
    const first = await desktop(dir);
    await first.invoke('setSettings', { autoStart: false, notifyOnSuccess: true });
    expect(first.autoStart.setEnabled).not.toHaveBeenCalled(); // the login item was already off
    await first.invoke('setSettings', { autoStart: true });
    expect(first.autoStart.setEnabled).toHaveBeenCalledWith(true);
    await first.core.stop();

    const second = await desktop(dir);
    expect(await second.invoke('getSettings')).toEqual({ autoStart: true, notifyOnSuccess: true, notifyOnFailure: true, notifyOnOverdue: true });
    expect(await second.core.getSettings()).toEqual(await second.invoke('getSettings'));
  });

  it("the wizard's managed setup enrolls with the reference orchestrator over http to loopback only when allowed", async () => {
    const orch: ReferenceOrchestrator = await startReferenceOrchestrator(tempDir('rma-orch-'));
    cleanup.push(() => orch.stop());
    const { core, invoke, configPath } = await desktop(install());
    const { token } = await orch.admin.createEnrollmentToken({});

    const refused = await invoke<{ ok: boolean; errors?: Array<{ path: string; message: string }> }>('setupManaged', {
      url: orch.url,
      enrollmentToken: token,
      caFile: null,
    });
    expect(refused.ok).toBe(false);
    expect(refused.errors?.[0]?.message).toMatch(/http|insecure|loopback/i);
    expect(await orch.admin.listAgents()).toEqual([]);

    const done = await invoke('setupManaged', { url: orch.url, enrollmentToken: token, caFile: null, insecureLoopback: true });
    expect(done).toEqual({ ok: true });
    const agents = await orch.admin.listAgents();
    expect(agents).toHaveLength(1);
    const yaml = readFileSync(configPath, 'utf8');
    expect(yaml).toContain(`url: ${orch.url}`);
    expect(yaml).toContain('insecure_loopback: true');
    expect(yaml).not.toContain(token);
    await vi.waitFor(async () => expect((await core.getStatus()).orchestrator?.connected).toBe(true), { timeout: 15_000, interval: 200 });
    expect((await core.getStatus()).mode).toBe('managed');
  });
});
