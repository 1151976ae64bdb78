import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DesktopUpdater, type AppUpdaterLike } from '../../src/main/desktop-updater.js';
import { trayMenuTemplate } from '../../src/main/tray/tray-menu-template.js';
import { idleStatus } from './status-fixtures.js';

/** electron-updater's AppUpdater as far as the app uses it: events, a check, quitAndInstall. */
class FakeUpdater extends EventEmitter implements AppUpdaterLike {
  autoDownload = false;
  autoInstallOnAppQuit = true;
  checks = 0;
  installs: Array<[boolean | undefined, boolean | undefined]> = [];
  checkForUpdates(): Promise<unknown> {
    this.checks++;
    return Promise.resolve(null);
  }
  quitAndInstall(isSilent?: boolean, isForceRunAfter?: boolean): void {
    this.installs.push([isSilent, isForceRunAfter]);
  }
}

function setup(busy: { now: boolean }) {
  const updater = new FakeUpdater();
  let changes = 0;
  const logs: string[] = [];
  const d = new DesktopUpdater({
    updater,
    isBusy: () => busy.now,
    onChange: () => changes++,
    verify: (file) => (file.endsWith('.tampered') ? Promise.reject(new Error('not the signed artifact')) : Promise.resolve()),
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
  });
  const downloaded = async (version: string, downloadedFile = `/cache/restic-monitor-agent-${version}.AppImage`) => {
    updater.emit('update-downloaded', { version, downloadedFile });
    await d.verified;
  };
  return { updater, d, logs, changes: () => changes, downloaded };
}

describe('DesktopUpdater', () => {
  it('downloads in the background but never installs on quit; offers "Restart to update" once downloaded', async () => {
    const { updater, d, changes, downloaded } = setup({ now: false });
    expect(updater.autoDownload).toBe(true);
    expect(updater.autoInstallOnAppQuit).toBe(false);
    d.start(60_000);
    expect(updater.checks).toBe(1);
    d.stop();
    const actions = {
      backupNow() {},
      cancel() {},
      pause() {},
      resume() {},
      checkNow() {},
      openWindow() {},
      quit() {},
      restartToUpdate: () => d.restartToUpdate(),
    };
    expect(trayMenuTemplate(idleStatus(), actions, new Date(), d.state()).find((i) => i.id === 'restart-to-update')).toBeUndefined();
    await downloaded('0.3.0');
    expect(changes()).toBe(1);
    const item = trayMenuTemplate(idleStatus(), actions, new Date(), d.state()).find((i) => i.id === 'restart-to-update');
    expect(item?.label).toBe('Restart to update to 0.3.0');
    item?.click?.();
    expect(updater.installs).toEqual([[false, true]]);
  });

  it('never restarts during a backup: the restart waits until the run has finished', async () => {
    const busy = { now: true };
    const { updater, d, logs, downloaded } = setup(busy);
    await downloaded('0.3.0');
    d.restartToUpdate();
    expect(updater.installs).toEqual([]);
    expect(d.state()).toEqual({ ready: '0.3.0', waitingForBackup: true });
    const actions = { backupNow() {}, cancel() {}, pause() {}, resume() {}, checkNow() {}, openWindow() {}, quit() {} };
    expect(trayMenuTemplate(idleStatus(), actions, new Date(), d.state()).find((i) => i.id === 'restart-to-update')).toMatchObject({
      label: 'Restarts to update to 0.3.0 after the backup',
      enabled: false,
    });
    d.statusChanged(); // still running
    expect(updater.installs).toEqual([]);
    busy.now = false;
    d.statusChanged();
    expect(updater.installs).toEqual([[false, true]]);
    expect(logs.join('\n')).toMatch(/waiting for the running backup to finish/);
  });

  it('a download the signed manifest does not list is refused: no "Restart to update"', async () => {
    const { updater, d, logs, downloaded } = setup({ now: false });
    await downloaded('0.3.0', '/cache/x.AppImage.tampered');
    expect(d.state().ready).toBeNull();
    d.restartToUpdate();
    expect(updater.installs).toEqual([]);
    expect(logs).toEqual(['update 0.3.0 refused: not the signed artifact']);
  });

  it('a failed check is logged, not thrown', () => {
    const { updater, logs } = setup({ now: false });
    updater.emit('error', new Error('net::ERR_CERT_AUTHORITY_INVALID'));
    expect(logs).toEqual(['update check failed: net::ERR_CERT_AUTHORITY_INVALID']);
  });
});
