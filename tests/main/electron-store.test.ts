import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const userData = { dir: '' };
vi.mock('electron', () => {
  const app = { getPath: () => userData.dir, getVersion: () => '0.1.0', getName: () => 'restic-monitor-agent', on: () => {} };
  const ipcMain = { on: () => {}, handle: () => {} };
  const m = { app, ipcMain, shell: {} };
  return { ...m, default: m };
});

describe('electron-store backed desktop settings', () => {
  it('persists to desktop-settings.json in userData', async () => {
    userData.dir = tempDir();
    const { openElectronSettingsStore, DesktopSettingsStore } = await import('../../src/main/platform/desktop-settings.js');
    const store = new DesktopSettingsStore(await openElectronSettingsStore());
    store.set({ notifyOnSuccess: true });
    const file = JSON.parse(readFileSync(join(userData.dir, 'desktop-settings.json'), 'utf8')) as { desktop: { notifyOnSuccess: boolean } };
    expect(file.desktop.notifyOnSuccess).toBe(true);
    const again = new DesktopSettingsStore(await openElectronSettingsStore());
    expect(again.get().notifyOnSuccess).toBe(true);
  });
});
