import { describe, expect, it } from 'vitest';
import { validateConfigText, type ConfigValidation } from '../../../src/main/core/config/load.js';
import type { AgentConfig } from '../../../src/main/core/config/types.js';
import { sourcePlugin } from '../../../src/main/core/plugins/registry.js';
import type { PluginContext } from '../../../src/main/core/plugins/types.js';

const ctx = { hostname: 'db1', homedir: '/root', dataDir: '/var/lib/restic-agent' };
const REPO = 'repository: { url: /srv/repo, password_file: /etc/restic/pass }\n';

const context: PluginContext = {
  workDir: '/nonexistent',
  stateDir: '/nonexistent',
  signal: new AbortController().signal,
  secret: () => Promise.reject(new Error('no secrets here')),
};

function check(text: string): ConfigValidation {
  return validateConfigText(REPO + text, 'test.yaml', ctx);
}
function ok(text: string): AgentConfig {
  const r = check(text);
  if (!r.ok) throw new Error(`expected valid config, got: ${JSON.stringify(r.errors)}`);
  return r.config;
}
function errors(text: string): string[] {
  const r = check(text);
  if (r.ok) throw new Error('expected errors, config was valid');
  return r.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('plugin sources in the config', () => {
  it('the list form becomes sources with an id, tags for retention and restore, and the stream to back up', async () => {
    const c = ok(`
backup: { sources: [ { path: /etc, policy: daily } ] }
plugins:
  command:
    - { name: ldap, command: [slapcat, -n, "1"], stdin_filename: ldap.ldif, policy: daily }
    - { name: etcd, command: [/usr/local/bin/etcd-dump], tags: [k8s] }
`);
    expect(c.sources.map((s) => s.path)).toEqual(['/etc', 'command:ldap', 'command:etcd']);
    expect(c.sources[0]?.plugin).toBeNull();
    expect(c.sources[1]).toMatchObject({
      policy: 'daily',
      repository: 'default',
      tags: ['plugin:command', 'source:ldap'],
      plugin: { kind: 'command', name: 'ldap', instance: { command: ['slapcat', '-n', '1'], stdin_filename: 'ldap.ldif' } },
    });
    expect(c.sources[2]).toMatchObject({ tags: ['k8s', 'plugin:command', 'source:etcd'] });
    const etcd = c.sources[2]!.plugin!;
    expect(await sourcePlugin(etcd.kind).streams(etcd.instance, context)).toEqual([{ command: ['/usr/local/bin/etcd-dump'], filename: 'etcd.out', tags: [] }]);
  });

  it("the design's examples validate: mysql in the single form, postgres and mysql in the list form", () => {
    expect(ok('plugins:\n  mysql: { enabled: true, host: localhost, user: backup, password_file: /etc/mysql/backup.pass }').sources.map((s) => s.path)).toEqual(
      ['mysql:mysql'],
    );
    const c = ok(`plugins:
  postgres:
    - { name: shop-db, host: /run/postgresql, user: postgres, databases: [shop], policy: daily }
  mysql:
    - { name: blog-db, socket: /run/mysqld/mysqld.sock, user: backup, password_file: /etc/b.pass, databases: all, policy: daily }`);
    expect(c.sources.map((s) => s.path)).toEqual(['postgres:shop-db', 'mysql:blog-db']);
    expect(errors('plugins: { mysql: { password_file: /a, password_keyring: b } }')).toEqual([
      expect.stringMatching(/^plugins\.mysql\.password_keyring: give only one of password_file, password_keyring/),
    ]);
  });

  it("the design's docker example validates; a volume list or a label selector, not both", () => {
    const c = ok(
      'plugins:\n  docker:\n    - { name: app-volumes, volumes: [pgdata, uploads], stop_containers: true, policy: hourly }\n    - { name: tagged, label: backup=true }',
    );
    expect(c.sources.map((s) => s.path)).toEqual(['docker:app-volumes', 'docker:tagged']);
    const either = /^plugins\.docker\[0\]\.volumes: give exactly one of volumes: \[NAME, …\] or label: KEY=VALUE/;
    expect(errors('plugins: { docker: [ { name: x } ] }')).toEqual([expect.stringMatching(either)]);
    expect(errors('plugins: { docker: [ { name: x, volumes: [a], label: b } ] }')).toEqual([expect.stringMatching(either)]);
    expect(errors('plugins: { docker: [ { name: x, label: "a b" } ] }')).toEqual([expect.stringMatching(/label: a label selector: KEY or KEY=VALUE/)]);
    expect(errors('plugins: { docker: [ { name: x, label: b, copy_via: tar } ] }')).toEqual([
      'plugins.docker[0].copy_via: expected one of "auto", "mountpoint", "helper", got "tar"',
    ]);
  });

  it('hooks validate globally, per source and per plugin instance, with the usual errors', () => {
    const c = ok(`hooks: { before: "sync", timeout: 2m }
backup: { sources: [ { path: /srv, hooks: { before: [lvcreate, -s, vg/data], after: [lvremove, -y, vg/snap] } } ] }
plugins: { command: [ { name: x, command: [a], hooks: { on_failure: "logger failed" } } ] }`);
    expect(c.sources[0]?.hooks).toEqual({
      layers: [{ before: 'sync' }, { before: ['lvcreate', '-s', 'vg/data'], after: ['lvremove', '-y', 'vg/snap'] }],
      timeoutMs: 120_000,
    });
    expect(c.sources[1]?.hooks.layers).toEqual([{ before: 'sync' }, { onFailure: 'logger failed' }]);
    expect(errors('hooks: { befor: x }')).toEqual([expect.stringMatching(/^hooks\.befor: .*did you mean "before"/)]);
    expect(errors('hooks: { after: 3 }')).toEqual([expect.stringMatching(/^hooks\.after: expected a command line/)]);
  });

  it('the single form needs no name, and enabled: false leaves the source out', () => {
    expect(ok('plugins: { command: { command: [pg_dumpall] } }').sources.map((s) => s.path)).toEqual(['command:command']);
    expect(ok('plugins: { command: { enabled: false, command: [pg_dumpall] } }').sources).toEqual([]);
  });

  it('bad plugin config gets the same clear errors as the rest of the file', () => {
    expect(errors('plugins: { comand: [ { name: x, command: [a] } ] }')).toEqual([expect.stringMatching(/^plugins\.comand: .*did you mean "command"/)]);
    expect(errors('plugins: { command: [ { name: x, command: [a], stdin_file: a.out } ] }').join('\n')).toMatch(/plugins\.command.*stdin_file/);
    expect(errors('plugins: { command: [ { command: [a] } ] }')).toEqual([
      expect.stringMatching(/^plugins\.command\[0\]\.name: required when plugins\.command is a list/),
    ]);
    expect(errors('plugins: { command: [ { name: x, command: [a], policy: dialy } ] }')).toEqual([
      expect.stringMatching(/^plugins\.command\[0\]\.policy: unknown policy "dialy".*did you mean "daily"/),
    ]);
    expect(errors('plugins: { command: [ { name: x, command: [a] }, { name: x, command: [b] } ] }')).toEqual([
      expect.stringMatching(/^plugins\.command\[1\]\.name: "x" is already the name of plugins\.command\[0\]/),
    ]);
    expect(errors('plugins: { command: [ { name: x, command: [a], stdin_filename: a/b.out } ] }').join('\n')).toMatch(/without slashes/);
  });
});
