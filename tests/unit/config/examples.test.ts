import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../../src/main/core/config/load.js';
import { findSecrets } from '../../../src/main/core/config/write.js';

const dir = fileURLToPath(new URL('../../../examples/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const ctx = { hostname: 'example-host', homedir: '/home/ann', dataDir: '/home/ann/.local/share/restic-agent' };

describe('examples/', () => {
  it('has the documented examples', () => {
    expect(files).toEqual(expect.arrayContaining(['standalone.yaml', 'original-design.yaml', 's3.yaml', 'managed.yaml']));
  });

  it.each(files)('%s is a valid configuration without secrets', (file) => {
    const text = readFileSync(dir + file, 'utf8');
    const r = validateConfigText(text, file, ctx);
    if (!r.ok) throw new Error(`${file}:\n${r.errors.map((e) => `${e.path} (line ${e.line}): ${e.message}`).join('\n')}`);
    expect(r.warnings).toEqual([]);
    expect(findSecrets(text)).toEqual([]);
  });

  it('standalone.yaml uses every policy feature', () => {
    const r = validateConfigText(readFileSync(`${dir}standalone.yaml`, 'utf8'), 'standalone.yaml', ctx);
    if (!r.ok) throw new Error('invalid');
    const p = r.config.policies.workdays;
    expect(p?.conditions).toEqual({ acPowerOnly: true, notOnMetered: true, minFreeCacheBytes: 2e9, requireRepositoryReachable: true, deadlineMs: 172_800_000 });
    expect(p?.throttle.limitUploadKiBs).toBe(2048);
    expect(r.config.policies.weekly?.retention).not.toBeNull();
    expect(r.config.sources.map((s) => s.repository)).toEqual(['rest', 'usb', 'nas']);
  });
});

describe('home expansion', () => {
  it('expands ~/ in source paths and exclude patterns', () => {
    const r = validateConfigText(readFileSync(`${dir}s3.yaml`, 'utf8'), 's3.yaml', ctx);
    if (!r.ok) throw new Error('invalid');
    expect(r.config.sources[0]).toMatchObject({ path: '/home/ann/', exclude: ['/home/ann/Downloads', '/home/ann/.cache'] });
  });
});

describe('docs/configuration.md', () => {
  it('every YAML block in the reference is valid', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url)), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const block of blocks) {
      const r = validateConfigText(block, 'configuration.md', ctx);
      expect(r.ok ? [] : r.errors).toEqual([]);
    }
  });
});
