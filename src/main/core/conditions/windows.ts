import type { CommandRunner } from './run-command.js';

const PS = ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command'];

/** Prints each battery's `BatteryStatus` (1 = discharging, 2 = on AC); nothing when there is no battery. */
export const WINDOWS_POWER_COMMAND =
  '(Get-CimInstance -ClassName Win32_Battery -ErrorAction SilentlyContinue | ForEach-Object { $_.BatteryStatus }) -join ","; "ok"';

/** Prints the internet profile's cost type: Unrestricted, Fixed, Variable or Unknown. */
export const WINDOWS_METERED_COMMAND =
  '$p = [Windows.Networking.Connectivity.NetworkInformation, Windows.Networking.Connectivity, ContentType = WindowsRuntime]::GetInternetConnectionProfile(); if ($p) { $p.GetConnectionCost().NetworkCostType } else { "None" }';

/** Parses WINDOWS_POWER_COMMAND's output (`2\nok`, `1\nok`, `\nok` for a desktop). */
export function parseWindowsPower(output: string): boolean | null {
  const lines = output.split(/\r?\n/).map((l) => l.trim());
  if (!lines.includes('ok')) return null;
  const statuses = (lines[0] === 'ok' ? '' : (lines[0] ?? '')).split(',').filter(Boolean);
  if (statuses.length === 0) return true; // no battery: a desktop on mains
  if (statuses.includes('2') || statuses.some((s) => ['3', '6', '7', '8', '9'].includes(s))) return true;
  if (statuses.includes('1')) return false;
  return null;
}

/** Parses WINDOWS_METERED_COMMAND's output. */
export function parseWindowsCost(output: string): boolean | null {
  const v = output.trim();
  if (v === 'Fixed' || v === 'Variable') return true;
  if (v === 'Unrestricted') return false;
  return null;
}

export async function windowsOnAcPower(run: CommandRunner): Promise<boolean | null> {
  const out = await run('powershell.exe', [...PS, WINDOWS_POWER_COMMAND]);
  return out === null ? null : parseWindowsPower(out);
}

export async function windowsIsMetered(run: CommandRunner): Promise<boolean | null> {
  const out = await run('powershell.exe', [...PS, WINDOWS_METERED_COMMAND]);
  return out === null ? null : parseWindowsCost(out);
}
