/** The repository kinds the wizard offers, with the fields each needs. */
export type RepoKind = 'local' | 'sftp' | 'rest' | 's3' | 'b2';

/** One input of the repository step. */
export interface FieldSpec {
  readonly name: string;
  readonly label: string;
  readonly help: string;
  readonly secret?: boolean;
  readonly optional?: boolean;
  readonly placeholder?: string;
}

/** Fields per kind, in the order they are shown. */
export const REPO_FIELDS: Readonly<Record<RepoKind, ReadonlyArray<FieldSpec>>> = {
  local: [
    { name: 'path', label: 'Folder', help: 'A folder on this computer or an attached drive, e.g. /media/backup/restic.', placeholder: '/media/backup/restic' },
  ],
  sftp: [
    { name: 'user', label: 'User name', help: 'The account on the SSH server.', placeholder: 'me' },
    {
      name: 'host',
      label: 'Server',
      help: 'Host name or address; the SSH key must already be set up (restic cannot ask for an SSH password).',
      placeholder: 'nas.local',
    },
    { name: 'path', label: 'Folder on the server', help: 'Absolute path, e.g. /srv/restic.', placeholder: '/srv/restic' },
  ],
  rest: [
    {
      name: 'url',
      label: 'Server URL',
      help: 'The rest-server address, e.g. https://backup.example.com:8000/me.',
      placeholder: 'https://backup.example.com:8000/me',
    },
    { name: 'user', label: 'User name', help: 'Only when the server asks for one.', optional: true },
    { name: 'password', label: 'Server password', help: 'Only when the server asks for one; kept in the keyring.', secret: true, optional: true },
  ],
  s3: [
    { name: 'endpoint', label: 'Endpoint', help: 'https://s3.amazonaws.com for AWS, or your provider’s S3 address.', placeholder: 'https://s3.amazonaws.com' },
    { name: 'bucket', label: 'Bucket', help: 'An existing bucket.', placeholder: 'my-backups' },
    { name: 'prefix', label: 'Folder in the bucket', help: 'Optional, lets one bucket hold several repositories.', optional: true, placeholder: 'laptop' },
    { name: 'accessKey', label: 'Access key ID', help: 'From your provider’s console.' },
    { name: 'secretKey', label: 'Secret access key', help: 'Kept in the keyring, never in the config file.', secret: true },
    { name: 'region', label: 'Region', help: 'Optional, e.g. eu-central-1.', optional: true },
  ],
  b2: [
    { name: 'bucket', label: 'Bucket', help: 'An existing Backblaze B2 bucket.', placeholder: 'my-backups' },
    { name: 'prefix', label: 'Folder in the bucket', help: 'Optional.', optional: true, placeholder: 'laptop' },
    { name: 'accountId', label: 'Application key ID', help: 'From the B2 "App Keys" page.' },
    { name: 'accountKey', label: 'Application key', help: 'Kept in the keyring, never in the config file.', secret: true },
  ],
};

/** Either the restic repository string and its environment, or per-field errors in plain words. */
export type RepoBuild =
  | { readonly ok: true; readonly url: string; readonly env: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly errors: Readonly<Record<string, string>> };

/** Builds the restic repository string and backend environment from the form, validating each field. */
export function buildRepository(kind: RepoKind, values: Readonly<Record<string, string>>): RepoBuild {
  const v = (k: string): string => (values[k] ?? '').trim();
  const errors: Record<string, string> = {};
  for (const f of REPO_FIELDS[kind]) if (!f.optional && v(f.name) === '') errors[f.name] = `${f.label} is required.`;
  const slash = (k: string) => v(k).replace(/^\/+|\/+$/g, '');
  let url = '';
  const env: Record<string, string> = {};
  switch (kind) {
    case 'local':
      if (v('path') && !/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(v('path'))) errors.path = 'Use a full path starting with / (or C:\\ on Windows).';
      url = v('path');
      break;
    case 'sftp':
      if (v('host') && /[\s/@:]/.test(v('host'))) errors.host = 'Only the host name, without user, port or path.';
      if (v('path') && !v('path').startsWith('/')) errors.path = 'Use an absolute path starting with /.';
      url = `sftp:${v('user')}@${v('host')}:${v('path')}`;
      break;
    case 'rest': {
      const u = parseUrl(v('url'));
      if (v('url') && !u) errors.url = 'Enter a full URL starting with http:// or https://.';
      else if (u && u.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))
        errors.url = 'Use https:// — plain http would send your data unencrypted over the network.';
      url = `rest:${v('url')}`;
      if (v('user')) env.RESTIC_REST_USERNAME = v('user');
      if (v('password')) env.RESTIC_REST_PASSWORD = v('password');
      break;
    }
    case 's3': {
      const u = parseUrl(v('endpoint'));
      if (v('endpoint') && !u) errors.endpoint = 'Enter a full URL such as https://s3.amazonaws.com.';
      if (v('bucket') && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v('bucket')))
        errors.bucket = 'Bucket names use 3–63 lower-case letters, digits, dots and dashes.';
      url = `s3:${v('endpoint').replace(/\/+$/, '')}/${v('bucket')}${slash('prefix') ? `/${slash('prefix')}` : ''}`;
      env.AWS_ACCESS_KEY_ID = v('accessKey');
      env.AWS_SECRET_ACCESS_KEY = v('secretKey');
      if (v('region')) env.AWS_DEFAULT_REGION = v('region');
      break;
    }
    case 'b2':
      if (v('bucket') && !/^[A-Za-z0-9-]{6,50}$/.test(v('bucket'))) errors.bucket = 'B2 bucket names use 6–50 letters, digits and dashes.';
      url = `b2:${v('bucket')}:${slash('prefix')}`;
      env.B2_ACCOUNT_ID = v('accountId');
      env.B2_ACCOUNT_KEY = v('accountKey');
      break;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, url, env };
}

/** Checks a repository password the user typed; returns a message or null when it is fine. */
export function checkPassword(password: string, confirm: string): string | null {
  if (password.length === 0) return 'Enter a password or generate one.';
  if (password.length < 12) return 'Use at least 12 characters: this password protects every backup, and nobody can reset it.';
  if (password !== confirm) return 'The two passwords differ.';
  return null;
}

/** Checks the folder list; returns a message or null. */
export function checkFolders(folders: ReadonlyArray<string>): string | null {
  if (folders.length === 0) return 'Add at least one folder to back up.';
  const relative = folders.find((f) => !/^(\/|[A-Za-z]:[\\/]|~)/.test(f));
  if (relative) return `"${relative}" is not a full path; start it with / (or C:\\ on Windows).`;
  return null;
}

/** Excludes offered on the folders step (ticked by default: caches and trash nobody wants restored). */
export const SUGGESTED_EXCLUDES: ReadonlyArray<{ readonly pattern: string; readonly why: string; readonly checked: boolean }> = [
  { pattern: '.cache', why: 'application caches, rebuilt automatically', checked: true },
  { pattern: 'node_modules', why: 'JavaScript dependencies, reinstalled with npm', checked: true },
  { pattern: '.Trash*', why: 'the trash', checked: true },
  { pattern: '*.tmp', why: 'temporary files', checked: true },
  { pattern: '.DS_Store', why: 'macOS folder settings', checked: true },
  { pattern: 'Thumbs.db', why: 'Windows thumbnails', checked: true },
  { pattern: '*.iso', why: 'disk images (large, usually downloadable again)', checked: false },
  { pattern: 'Downloads', why: 'the downloads folder', checked: false },
];

/** Schedules offered on the last step; names are the core's built-in policies. */
export const POLICIES: ReadonlyArray<{ readonly name: string; readonly label: string; readonly help: string }> = [
  { name: 'hourly', label: 'Every hour', help: 'At the start of every hour; keeps 24 hourly, 7 daily, 4 weekly and 12 monthly snapshots.' },
  { name: 'daily', label: 'Once a day', help: 'At 02:00 (or as soon as the computer is on); keeps 7 daily, 4 weekly, 12 monthly and 3 yearly snapshots.' },
  { name: 'weekly', label: 'Once a week', help: 'Sundays at 03:00; keeps 8 weekly, 12 monthly and 5 yearly snapshots.' },
];

function parseUrl(text: string): URL | null {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : null;
  } catch {
    return null;
  }
}
