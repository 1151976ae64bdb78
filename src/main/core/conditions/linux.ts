import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from './run-command.js';

/** Where the kernel lists power supplies. */
export const SYSFS_POWER_SUPPLY = '/sys/class/power_supply';

async function readTrim(file: string): Promise<string | null> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return null;
  }
}

/**
 * AC power from sysfs: `Mains`/`USB` supplies report `online`, batteries report `status`.
 *
 * - any mains-type supply online → true
 * - system batteries present and none charging/full while no mains online → false
 * - no system battery at all (a desktop, a VM) → true
 * Device batteries (`scope` = `Device`: mice, headsets) are ignored.
 */
export async function linuxOnAcPower(root = SYSFS_POWER_SUPPLY): Promise<boolean | null> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return null; // no sysfs (container, other OS): unknown
  }
  let mainsSeen = false;
  let mainsOnline = false;
  const batteryStatuses: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const type = await readTrim(join(dir, 'type'));
    if (type === null) continue;
    if (type === 'Battery') {
      if ((await readTrim(join(dir, 'scope'))) === 'Device') continue;
      batteryStatuses.push((await readTrim(join(dir, 'status'))) ?? 'Unknown');
    } else if (type === 'Mains' || type.startsWith('USB') || type === 'Wireless') {
      mainsSeen = true;
      if ((await readTrim(join(dir, 'online'))) === '1') mainsOnline = true;
    }
  }
  if (mainsOnline) return true;
  if (batteryStatuses.length === 0) return mainsSeen ? false : true;
  if (batteryStatuses.some((s) => s === 'Discharging')) return false;
  if (batteryStatuses.some((s) => s === 'Charging' || s === 'Full' || s === 'Not charging')) return true;
  return mainsSeen ? false : null;
}

/**
 * Parses NetworkManager's global `Metered` property as printed by
 * `busctl get-property … Metered` (`u 4`). NMMetered: 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no.
 */
export function parseBusctlMetered(output: string): boolean | null {
  const m = /^u\s+(\d+)\s*$/m.exec(output.trim());
  switch (m?.[1]) {
    case '1':
    case '3':
      return true;
    case '2':
    case '4':
      return false;
    default:
      return null;
  }
}

/**
 * Parses `nmcli -t -f GENERAL.DEVICE,GENERAL.STATE,GENERAL.METERED dev show`: connected devices (state 100)
 * other than loopback decide; any `yes`/`yes (guessed)` → metered, all `no…` → not, otherwise unknown.
 */
export function parseNmcliMetered(output: string): boolean | null {
  const devices: Array<{ name: string; state: string; metered: string }> = [];
  let cur: { name: string; state: string; metered: string } | null = null;
  for (const line of output.split(/\r?\n/)) {
    const idx = line.indexOf(':');
    if (idx < 0) continue;
    const key = line.slice(0, idx);
    const value = line
      .slice(idx + 1)
      .replace(/\\:/g, ':')
      .trim();
    if (key === 'GENERAL.DEVICE') {
      cur = { name: value, state: '', metered: '' };
      devices.push(cur);
    } else if (cur && key === 'GENERAL.STATE') cur.state = value;
    else if (cur && key === 'GENERAL.METERED') cur.metered = value;
  }
  const active = devices.filter((d) => d.name !== 'lo' && /^100\b/.test(d.state) && !/externally/.test(d.state));
  if (active.length === 0) return null;
  if (active.some((d) => d.metered.startsWith('yes'))) return true;
  if (active.every((d) => d.metered.startsWith('no'))) return false;
  return null;
}

/** Metered state from NetworkManager: busctl first (one global answer), nmcli as the fallback. */
export async function linuxIsMetered(run: CommandRunner): Promise<boolean | null> {
  const bus = await run('busctl', [
    'get-property',
    'org.freedesktop.NetworkManager',
    '/org/freedesktop/NetworkManager',
    'org.freedesktop.NetworkManager',
    'Metered',
  ]);
  const fromBus = bus === null ? null : parseBusctlMetered(bus);
  if (fromBus !== null) return fromBus;
  const nm = await run('nmcli', ['-t', '-f', 'GENERAL.DEVICE,GENERAL.STATE,GENERAL.METERED', 'dev', 'show']);
  return nm === null ? null : parseNmcliMetered(nm);
}
