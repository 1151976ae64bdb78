// The end-of-archive check on a helper's tar stream: a whole tar (made by GNU tar, padded as tar pads) passes
// through unchanged; the same tar cut short anywhere fails, so a stream the daemon cut never becomes a snapshot.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { endOfArchiveCheck } from '../../../src/main/core/plugins/docker/helper.js';
import { tempDir } from '../../helpers/tmp.js';

function sampleTar(): Buffer {
  const dir = tempDir('rma-tarcheck-');
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'f'), 'x'.repeat(5000));
  return execFileSync('tar', ['-C', dir, '-c', 'd']);
}

/** `data` in chunks of `size` bytes through the check. */
const through = (data: Buffer, size: number) =>
  buffer(
    Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
      })(),
    ).pipe(endOfArchiveCheck('v')),
  );

describe('endOfArchiveCheck', () => {
  const tar = sampleTar();

  it.each([1, 100, 512, 4096, 1 << 20])('passes a whole tar through unchanged (chunks of %i bytes)', async (size) => {
    expect((await through(tar, size)).equals(tar)).toBe(true);
  });

  it.each([0, 511, 1024, 2048])('refuses the tar cut %i bytes after its first header', async (cut) => {
    await expect(through(tar.subarray(0, 512 + cut), 300)).rejects.toThrow(/tar of volume v ended before its end-of-archive marker/);
  });
});
