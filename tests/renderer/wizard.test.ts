import { describe, expect, it } from 'vitest';
import { createWizardStore, explainProbe } from '../../src/renderer/src/stores/wizard-store.js';
import { buildRepository, checkFolders, checkPassword } from '../../src/renderer/src/wizard/repository-form.js';
import { fakeAgentApi } from '../main/fake-agent-api.js';

describe('repository form', () => {
  it('builds restic repository strings and backend env per kind', () => {
    expect(buildRepository('local', { path: '/media/b' })).toEqual({ ok: true, url: '/media/b', env: {} });
    expect(buildRepository('sftp', { user: 'me', host: 'nas', path: '/srv/r' })).toMatchObject({ url: 'sftp:me@nas:/srv/r' });
    expect(buildRepository('rest', { url: 'https://b.example:8000/me', user: 'u', password: 'p' })).toEqual({
      ok: true,
      url: 'rest:https://b.example:8000/me',
      env: { RESTIC_REST_USERNAME: 'u', RESTIC_REST_PASSWORD: 'p' },
    });
    expect(buildRepository('s3', { endpoint: 'https://s3.amazonaws.com/', bucket: 'my-bk', prefix: '/lap/', accessKey: 'A', secretKey: 'S' })).toEqual({
      ok: true,
      url: 's3:https://s3.amazonaws.com/my-bk/lap',
      env: { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' },
    });
    expect(buildRepository('b2', { bucket: 'my-bucket', accountId: 'i', accountKey: 'k' })).toMatchObject({
      url: 'b2:my-bucket:',
      env: { B2_ACCOUNT_ID: 'i', B2_ACCOUNT_KEY: 'k' },
    });
  });

  it('explains each wrong field in plain words', () => {
    const r = buildRepository('s3', { endpoint: 'nope', bucket: 'UPPER', accessKey: '', secretKey: 'x' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({
      accessKey: 'Access key ID is required.',
      endpoint: 'Enter a full URL such as https://s3.amazonaws.com.',
      bucket: 'Bucket names use 3–63 lower-case letters, digits, dots and dashes.',
    });
    const rest = buildRepository('rest', { url: 'http://backup.example.com/' });
    expect(!rest.ok && rest.errors.url).toMatch(/https/);
    expect(buildRepository('rest', { url: 'http://127.0.0.1:8000/' }).ok).toBe(true);
    const local = buildRepository('local', { path: 'backup' });
    expect(!local.ok && local.errors.path).toMatch(/full path/);
  });

  it('checks passwords and folders', () => {
    expect(checkPassword('', '')).toMatch(/Enter/);
    expect(checkPassword('short', 'short')).toMatch(/12 characters/);
    expect(checkPassword('long enough pw', 'long enough px')).toMatch(/differ/);
    expect(checkPassword('long enough pw', 'long enough pw')).toBeNull();
    expect(checkFolders([])).toMatch(/at least one/);
    expect(checkFolders(['/a', 'b'])).toMatch(/"b"/);
    expect(checkFolders(['/a'])).toBeNull();
  });
});

describe('wizard store', () => {
  it('walks a standalone setup: validates each step, tests live, initialises a missing repository', async () => {
    const api = fakeAgentApi();
    const w = createWizardStore(api);
    const s = () => w.getState();
    await s().next();
    expect(s().step).toBe('repository');
    await s().next();
    expect(s().step).toBe('repository');
    expect(s().fieldErrors.path).toBe('Folder is required.');
    s().setField('path', '/media/backup');
    await s().next();
    expect(s().step).toBe('password');
    await s().next();
    expect(s().error).toMatch(/Enter a password/);
    await s().generatePassword();
    expect(s().password).toBe('pw');
    s().set({ password: 'correct horse battery', confirm: 'correct horse battery' });
    await s().next();
    expect(s().step).toBe('test');
    await s().next();
    expect(api.testRepository).toHaveBeenCalledWith({ url: '/media/backup', password: 'correct horse battery', env: {} });
    expect(s().step).toBe('folders');
    await s().next();
    expect(s().error).toMatch(/at least one folder/);
    s().set({ folders: ['/home/me'] });
    await s().next();
    expect(s().step).toBe('schedule');
    await s().next();
    expect(s().step).toBe('done');
    expect(api.setupStandalone).toHaveBeenCalledWith(expect.objectContaining({ initialise: true, sources: ['/home/me'], policy: 'daily' }));
  });

  it('stays on the test step and explains a wrong password', async () => {
    const api = fakeAgentApi();
    api.testRepository.mockResolvedValueOnce({ reachable: true, state: 'wrong-password', message: 'wrong password or no key found' });
    const w = createWizardStore(api);
    w.setState({ step: 'test', kind: 'local', fields: { path: '/r' }, password: 'x'.repeat(12), confirm: 'x'.repeat(12) });
    await w.getState().next();
    expect(w.getState().step).toBe('test');
    expect(w.getState().error).toBe(explainProbe({ reachable: true, state: 'wrong-password', message: 'wrong password or no key found' }));
  });

  it('managed setup shows validation errors from the agent', async () => {
    const api = fakeAgentApi();
    api.setupManaged.mockResolvedValueOnce({ ok: false, errors: [{ path: 'enrollmentToken', message: 'the token was already used' }] });
    const w = createWizardStore(api);
    w.getState().set({ mode: 'managed' });
    await w.getState().next();
    expect(w.getState().step).toBe('managed');
    w.getState().set({ managed: { url: 'https://o.example', token: 't', caFile: '' } });
    await w.getState().next();
    expect(api.setupManaged).toHaveBeenCalledWith({ url: 'https://o.example', enrollmentToken: 't', caFile: null });
    expect(w.getState().step).toBe('managed');
    expect(w.getState().error).toBe('enrollmentToken: the token was already used');
  });
});
