import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateConditions } from '../../../src/main/core/conditions/evaluate.js';
import { freeBytes } from '../../../src/main/core/conditions/free-space.js';
import { linuxIsMetered, linuxOnAcPower, parseBusctlMetered, parseNmcliMetered } from '../../../src/main/core/conditions/linux.js';
import { parsePmsetBatt } from '../../../src/main/core/conditions/macos.js';
import { createPlatformProbes } from '../../../src/main/core/conditions/platform.js';
import { FakeProbes } from '../../fakes/fake-probes.js';
import { probeOutput } from '../../../src/main/core/conditions/run-command.js';
import { parseWindowsCost, parseWindowsPower } from '../../../src/main/core/conditions/windows.js';
import type { RunConditions } from '../../../src/main/core/config/types.js';
import { tempDir } from '../../helpers/tmp.js';

const FIX = join(import.meta.dirname, '../../fixtures/conditions');
const fx = (name: string): string => readFileSync(join(FIX, name), 'utf8');

describe('Linux AC power from sysfs', () => {
  it.each([
    ['desktop', true], // only a mouse battery (scope Device): mains powered
    ['laptop-ac', true],
    ['laptop-battery', false],
    ['laptop-usbc-ac', true],
  ])('%s → %s', async (tree, expected) => {
    expect(await linuxOnAcPower(join(FIX, 'sysfs', tree))).toBe(expected);
  });

  it('an empty power_supply dir (VM, desktop) is on AC; a missing one is unknown', async () => {
    expect(await linuxOnAcPower(tempDir())).toBe(true);
    expect(await linuxOnAcPower(join(tempDir(), 'nope'))).toBeNull();
  });

  it('the platform factory reads the given root', async () => {
    const probes = createPlatformProbes({ platform: 'linux', sysfsPowerSupply: join(FIX, 'sysfs/laptop-battery') });
    expect(await probes.onAcPower()).toBe(false);
  });
});

describe('NetworkManager metered state', () => {
  it.each([
    ['nmcli-wifi-not-metered.txt', false],
    ['nmcli-hotspot-metered.txt', true],
    ['nmcli-tether-guessed.txt', true],
    ['nmcli-ethernet-guessed-no.txt', false],
    ['nmcli-unknown.txt', null],
  ])('nmcli %s → %s', (file, expected) => {
    expect(parseNmcliMetered(fx(file))).toBe(expected);
  });

  it.each([
    ['busctl-metered-yes.txt', true],
    ['busctl-metered-guess-yes.txt', true],
    ['busctl-metered-guess-no.txt', false],
    ['busctl-metered-unknown.txt', null],
  ])('busctl %s → %s', (file, expected) => {
    expect(parseBusctlMetered(fx(file))).toBe(expected);
  });

  it('falls back to nmcli when busctl cannot answer, and to unknown when neither can', async () => {
    const calls: string[] = [];
    const viaNmcli = await linuxIsMetered((file) => {
      calls.push(file);
      return Promise.resolve(file === 'nmcli' ? fx('nmcli-hotspot-metered.txt') : null);
    });
    expect(viaNmcli).toBe(true);
    expect(calls).toEqual(['busctl', 'nmcli']);
    expect(await linuxIsMetered(() => Promise.resolve(null))).toBeNull();
    expect(await linuxIsMetered((f) => Promise.resolve(f === 'busctl' ? 'u 2' : null))).toBe(false);
  });
});

describe('macOS and Windows parsers', () => {
  it('pmset -g batt', () => {
    expect(parsePmsetBatt(fx('pmset-ac.txt'))).toBe(true);
    expect(parsePmsetBatt(fx('pmset-battery.txt'))).toBe(false);
    expect(parsePmsetBatt(fx('pmset-desktop.txt'))).toBe(true);
    expect(parsePmsetBatt('garbage')).toBeNull();
  });

  it('PowerShell battery status and connection cost', () => {
    expect(parseWindowsPower('2\r\nok\r\n')).toBe(true);
    expect(parseWindowsPower('1\r\nok\r\n')).toBe(false);
    expect(parseWindowsPower('\r\nok\r\n')).toBe(true); // no battery
    expect(parseWindowsPower('error')).toBeNull();
    expect(parseWindowsCost('Fixed\r\n')).toBe(true);
    expect(parseWindowsCost('Unrestricted')).toBe(false);
    expect(parseWindowsCost('Unknown')).toBeNull();
  });
});

describe('commands and free space', () => {
  it('a missing binary or a timeout is unknown (null), not an error', async () => {
    expect(await probeOutput('definitely-not-a-binary-xyz', [])).toBeNull();
    const t0 = Date.now();
    expect(await probeOutput('sleep', ['5'], 200)).toBeNull();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await probeOutput('echo', ['hi'])).toBe('hi');
  });

  it('free bytes of a path that does not exist yet come from its nearest ancestor', async () => {
    const free = await freeBytes(join(tempDir(), 'not', 'yet', 'made'));
    expect(free).toBeGreaterThan(0);
  });
});

describe('evaluateConditions', () => {
  const all: RunConditions = {
    acPowerOnly: true,
    notOnMetered: true,
    minFreeCacheBytes: 1024 ** 3,
    requireRepositoryReachable: true,
    deadlineMs: 0,
  };

  it('lists every unmet condition', async () => {
    const probes = new FakeProbes({ ac: false, metered: true, free: 1024 });
    const r = await evaluateConditions(all, { probes, cachePath: '/tmp' });
    expect(r.ok).toBe(false);
    expect(r.reasons).toHaveLength(3);
    expect(r.reasons.join('\n')).toMatch(/battery[\s\S]*metered[\s\S]*1\.0 KiB free/);
  });

  it('unknown answers and throwing probes pass; reachability is asked only when local checks pass', async () => {
    const probes = new FakeProbes({ ac: null, metered: null, free: null });
    let asked = 0;
    const reach = (v: boolean | null) => () => {
      asked++;
      return Promise.resolve(v);
    };
    expect((await evaluateConditions(all, { probes, cachePath: '/tmp', repositoryReachable: reach(null) })).ok).toBe(true);
    const unreachable = await evaluateConditions(all, { probes, cachePath: '/tmp', repositoryReachable: reach(false) });
    expect(unreachable.reasons).toEqual(['repository not reachable (require_repository_reachable)']);
    const throwing = {
      onAcPower: () => Promise.reject(new Error('x')),
      isMetered: () => Promise.reject(new Error('y')),
      freeBytes: () => Promise.reject(new Error('z')),
    };
    expect((await evaluateConditions(all, { probes: throwing, cachePath: '/tmp' })).ok).toBe(true);
    const before = asked;
    await evaluateConditions(all, { probes: new FakeProbes({ ac: false }), cachePath: '/tmp', repositoryReachable: reach(false) });
    expect(asked).toBe(before);
  });
});
