import { describe, expect, it } from 'vitest';
import { atLeast, capabilities, detectResticVersion, parseResticVersion } from '../../../src/main/core/restic/version.js';
import { sample, VERSIONS } from './sample-reader.js';

describe('parseResticVersion', () => {
  it.each(VERSIONS)('parses the recorded `restic version` of %s', (ver) => {
    const v = parseResticVersion(sample(ver, '01-').stdout);
    expect(v && `${v.major}.${v.minor}.${v.patch}`).toBe(ver);
  });
  it('accepts dev builds and rejects other programs', () => {
    expect(parseResticVersion('restic 0.19.1-dev (compiled manually) compiled with go1.26 on linux/amd64')).toMatchObject({ major: 0, minor: 19, patch: 1 });
    expect(parseResticVersion('rustic 0.9.0')).toBeNull();
    expect(parseResticVersion('')).toBeNull();
  });
});

describe('capabilities', () => {
  const cap = (s: string) => {
    const v = parseResticVersion(`restic ${s} x`);
    if (!v) throw new Error(s);
    return capabilities(v);
  };
  it('follows the matrix of docs/spec/restic-cli.md §1', () => {
    expect(cap('0.14.0')).toMatchObject({ retryLock: false, fullSnapshotId: false, readConcurrency: false, initJson: false, exitCodesRepoLock: false });
    expect(cap('0.15.0')).toMatchObject({ fullSnapshotId: true, readConcurrency: true, initJson: true, retryLock: false });
    expect(cap('0.16.0')).toMatchObject({ retryLock: true, restoreJson: true, exitCodesRepoLock: false });
    expect(cap('0.17.0')).toMatchObject({ exitCodesRepoLock: true, exitCodeWrongPassword: false });
    expect(cap('0.17.1')).toMatchObject({ exitCodeWrongPassword: true, exitErrorJson: false });
    expect(cap('0.18.0')).toMatchObject({ exitErrorJson: true, checkJson: true, forgetPrunePureJson: false });
    expect(cap('0.19.1')).toMatchObject({ forgetPrunePureJson: true });
    expect(cap('1.0.0').retryLock).toBe(true);
  });
  it('atLeast compares major, minor, patch', () => {
    const v = parseResticVersion('restic 0.17.3 x');
    if (!v) throw new Error();
    expect(atLeast(v, 0, 17, 1)).toBe(true);
    expect(atLeast(v, 0, 18)).toBe(false);
    expect(atLeast(v, 0, 16, 9)).toBe(true);
  });
});

describe('detectResticVersion errors', () => {
  it('missing binary', async () => {
    await expect(detectResticVersion('/nonexistent/restic')).rejects.toThrow(/not found.*restic\.binary/);
  });
  it('a binary that is not restic', async () => {
    await expect(detectResticVersion('/bin/echo')).rejects.toThrow(/does not look like restic/);
  });
});
