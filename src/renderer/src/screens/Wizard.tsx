import { useState } from 'react';
import { useApp, useStores } from '../stores/index.js';
import { explainProbe, isHttp, type WizardStep } from '../stores/wizard-store.js';
import { POLICIES, REPO_FIELDS, SUGGESTED_EXCLUDES, type RepoKind } from '../wizard/repository-form.js';

const KINDS: ReadonlyArray<{ kind: RepoKind; label: string; help: string }> = [
  { kind: 'local', label: 'Folder or drive', help: 'A folder on this computer or an external disk.' },
  { kind: 'sftp', label: 'SFTP server', help: 'Any server you reach with SSH keys (a NAS, a VPS).' },
  { kind: 'rest', label: 'REST server', help: 'A restic rest-server.' },
  { kind: 's3', label: 'S3 storage', help: 'Amazon S3, MinIO, Wasabi and other S3-compatible storage.' },
  { kind: 'b2', label: 'Backblaze B2', help: 'Backblaze B2 cloud storage.' },
];

const TITLES: Readonly<Record<WizardStep, string>> = {
  mode: 'Welcome',
  repository: 'Where should backups go?',
  password: 'Repository password',
  test: 'Test the connection',
  folders: 'What should be backed up?',
  schedule: 'How often?',
  managed: 'Connect to your organisation',
  done: 'All set',
};

/** The first-run wizard: standalone (repository, password, live test, folders, schedule) or managed. */
export function Wizard() {
  const w = useApp('wizard', (s) => s);
  const wizard = useStores().wizard.getState();
  const standaloneSteps: WizardStep[] = ['repository', 'password', 'test', 'folders', 'schedule'];
  const index = standaloneSteps.indexOf(w.step);

  return (
    <form
      className="wizard"
      aria-labelledby="wizard-title"
      onSubmit={(e) => {
        e.preventDefault();
        void wizard.next();
      }}
    >
      {index >= 0 && (
        <ol className="steps" aria-label="Setup steps">
          {standaloneSteps.map((s, i) => (
            <li key={s} aria-current={s === w.step ? 'step' : undefined} className={i < index ? 'done' : ''}>
              {TITLES[s]}
            </li>
          ))}
        </ol>
      )}
      <h1 id="wizard-title">{TITLES[w.step]}</h1>
      {w.step === 'mode' && <ModeStep />}
      {w.step === 'repository' && <RepositoryStep />}
      {w.step === 'password' && <PasswordStep />}
      {w.step === 'test' && <TestStep />}
      {w.step === 'folders' && <FoldersStep />}
      {w.step === 'schedule' && <ScheduleStep />}
      {w.step === 'managed' && <ManagedStep />}
      {w.step === 'done' && <p role="status">Saved. The agent is starting; your first backup follows its schedule, or use “Back up now”.</p>}
      {w.error && (
        <p role="alert" className="banner error pre">
          {w.error}
        </p>
      )}
      <div className="wizard-nav" hidden={w.step === 'done'}>
        {w.step !== 'mode' && (
          <button type="button" onClick={() => wizard.back()} disabled={w.busy}>
            Back
          </button>
        )}
        <button type="submit" className="primary" disabled={w.busy}>
          {w.busy ? 'Working…' : w.step === 'schedule' || w.step === 'managed' ? 'Save and start' : w.step === 'test' && !w.probe ? 'Test now' : 'Continue'}
        </button>
      </div>
    </form>
  );
}

function ModeStep() {
  const mode = useApp('wizard', (s) => s.mode);
  const wizard = useStores().wizard.getState();
  return (
    <>
      <p>Restic Monitor Agent backs up your folders with restic, encrypted, on a schedule. How is this computer managed?</p>
      <fieldset className="choices">
        <legend className="sr-only">Mode</legend>
        <label className="choice">
          <input type="radio" name="mode" checked={mode === 'standalone'} onChange={() => wizard.set({ mode: 'standalone' })} />
          <span>
            <strong>I set up my own backups</strong>
            <span className="help">Choose where to store them, what to back up and how often.</span>
          </span>
        </label>
        <label className="choice">
          <input type="radio" name="mode" checked={mode === 'managed'} onChange={() => wizard.set({ mode: 'managed' })} />
          <span>
            <strong>My organisation manages backups</strong>
            <span className="help">You received a server address and an enrollment token.</span>
          </span>
        </label>
      </fieldset>
    </>
  );
}

function RepositoryStep() {
  const kind = useApp('wizard', (s) => s.kind);
  const fields = useApp('wizard', (s) => s.fields);
  const errors = useApp('wizard', (s) => s.fieldErrors);
  const wizard = useStores().wizard.getState();
  return (
    <>
      <fieldset className="choices horizontal">
        <legend>Storage type</legend>
        {KINDS.map((k) => (
          <label key={k.kind} className="choice" title={k.help}>
            <input type="radio" name="kind" checked={kind === k.kind} onChange={() => wizard.set({ kind: k.kind })} />
            <span>
              <strong>{k.label}</strong>
              <span className="help">{k.help}</span>
            </span>
          </label>
        ))}
      </fieldset>
      {REPO_FIELDS[kind].map((f) => {
        const id = `repo-${f.name}`;
        const err = errors[f.name];
        return (
          <div className="field" key={f.name}>
            <label htmlFor={id}>
              {f.label}
              {f.optional ? <span className="muted"> (optional)</span> : null}
            </label>
            <input
              id={id}
              type={f.secret ? 'password' : 'text'}
              value={fields[f.name] ?? ''}
              placeholder={f.placeholder}
              aria-invalid={!!err}
              aria-describedby={`${id}-help`}
              onChange={(e) => wizard.setField(f.name, e.target.value)}
              autoComplete="off"
            />
            <p className={err ? 'help error' : 'help'} id={`${id}-help`}>
              {err || f.help}
            </p>
          </div>
        );
      })}
    </>
  );
}

function PasswordStep() {
  const password = useApp('wizard', (s) => s.password);
  const confirm = useApp('wizard', (s) => s.confirm);
  const wizard = useStores().wizard.getState();
  const [show, setShow] = useState(false);
  return (
    <>
      <p>
        Every backup is encrypted with this password. <strong>Nobody can recover it</strong>: keep a copy in your password manager. Connecting to an existing
        repository? Enter the password it was created with.
      </p>
      <div className="field">
        <label htmlFor="pw">Password</label>
        <input
          id="pw"
          type={show ? 'text' : 'password'}
          value={password}
          autoComplete="new-password"
          onChange={(e) => wizard.set({ password: e.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor="pw2">Repeat password</label>
        <input
          id="pw2"
          type={show ? 'text' : 'password'}
          value={confirm}
          autoComplete="new-password"
          onChange={(e) => wizard.set({ confirm: e.target.value })}
        />
      </div>
      <div className="row">
        <button type="button" onClick={() => void wizard.generatePassword()}>
          Generate a strong password
        </button>
        <label className="check">
          <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} /> Show password
        </label>
      </div>
    </>
  );
}

function TestStep() {
  const probe = useApp('wizard', (s) => s.probe);
  const busy = useApp('wizard', (s) => s.busy);
  const wizard = useStores().wizard.getState();
  return (
    <>
      <p>The agent now contacts the repository location with your settings, without changing anything.</p>
      <button type="button" onClick={() => void wizard.testRepository()} disabled={busy}>
        {probe ? 'Test again' : 'Test now'}
      </button>
      {busy && <p role="status">Testing…</p>}
      {probe && (probe.state === 'exists' || probe.state === 'missing') && (
        <p role="status" className="banner ok" data-testid="probe-result">
          {explainProbe(probe)}
        </p>
      )}
    </>
  );
}

function FoldersStep() {
  const folders = useApp('wizard', (s) => s.folders);
  const excludes = useApp('wizard', (s) => s.excludes);
  const wizard = useStores().wizard.getState();
  const [draft, setDraft] = useState('');
  const add = () => {
    const v = draft.trim();
    if (v && !folders.includes(v)) wizard.set({ folders: [...folders, v] });
    setDraft('');
  };
  return (
    <>
      <div className="field">
        <label htmlFor="folder">Folder to back up</label>
        <div className="row">
          <input
            id="folder"
            value={draft}
            placeholder="/home/me/Documents"
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                add();
              }
            }}
          />
          <button type="button" onClick={add}>
            Add folder
          </button>
        </div>
      </div>
      <ul className="list" aria-label="Folders to back up">
        {folders.map((f) => (
          <li key={f}>
            {f}{' '}
            <button type="button" className="link" aria-label={`Remove ${f}`} onClick={() => wizard.set({ folders: folders.filter((x) => x !== f) })}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      <fieldset>
        <legend>Skip these (suggested)</legend>
        {SUGGESTED_EXCLUDES.map((e) => (
          <label key={e.pattern} className="check">
            <input
              type="checkbox"
              checked={excludes.includes(e.pattern)}
              onChange={(ev) => wizard.set({ excludes: ev.target.checked ? [...excludes, e.pattern] : excludes.filter((x) => x !== e.pattern) })}
            />
            <code>{e.pattern}</code> <span className="muted">{e.why}</span>
          </label>
        ))}
      </fieldset>
    </>
  );
}

function ScheduleStep() {
  const policy = useApp('wizard', (s) => s.policy);
  const wizard = useStores().wizard.getState();
  return (
    <fieldset className="choices">
      <legend>Back up</legend>
      {POLICIES.map((p) => (
        <label key={p.name} className="choice">
          <input type="radio" name="policy" checked={policy === p.name} onChange={() => wizard.set({ policy: p.name })} />
          <span>
            <strong>{p.label}</strong>
            <span className="help">{p.help} Missed runs are caught up when the computer wakes.</span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

function ManagedStep() {
  const managed = useApp('wizard', (s) => s.managed);
  const wizard = useStores().wizard.getState();
  const set = (patch: Partial<typeof managed>) => wizard.set({ managed: { ...managed, ...patch } });
  return (
    <>
      <p>The agent registers with your organisation’s server, which then sends it backup tasks. The connection is tested before anything is saved.</p>
      <div className="field">
        <label htmlFor="m-url">Server address</label>
        <input id="m-url" value={managed.url} placeholder="https://backup.example.com" onChange={(e) => set({ url: e.target.value })} />
        <p className="help">Starts with https://.</p>
      </div>
      <div className="field">
        <label htmlFor="m-token">Enrollment token</label>
        <input id="m-token" type="password" value={managed.token} onChange={(e) => set({ token: e.target.value })} autoComplete="off" />
        <p className="help">Single-use; it is exchanged for this computer’s own credentials.</p>
      </div>
      <div className="field">
        <label htmlFor="m-ca">CA certificate file (optional)</label>
        <input id="m-ca" value={managed.caFile} placeholder="/etc/ssl/company-ca.pem" onChange={(e) => set({ caFile: e.target.value })} />
        <p className="help">Only when the server uses your organisation’s own certificate authority.</p>
      </div>
      {isHttp(managed.url) && (
        <label className="check">
          <input type="checkbox" checked={managed.insecureLoopback ?? false} onChange={(e) => set({ insecureLoopback: e.target.checked })} />
          Allow plain http to this machine (testing)
          <span className="help">Unencrypted connections are accepted only to this computer (localhost, 127.0.0.1, [::1]).</span>
        </label>
      )}
    </>
  );
}
