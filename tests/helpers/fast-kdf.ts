// Re-keys a test repository with cheap scrypt parameters, as restic's own tests do
// (`repository.TestUseLowSecurityKDFParameters`): `restic init` calibrates scrypt to about 0.5 s on an idle core, and
// every later restic command pays it again to open the repository, which dominated the suite's time. The repository
// stays real (same master key, same data, opened by the real restic); only its key file's KDF changes.
//
// restic's key file: `data` = IV (16) ‖ AES-256-CTR ciphertext ‖ Poly1305-AES MAC (16), under keys derived by
// scrypt(password, salt, N, r, p) → 64 bytes: AES key (32) ‖ MAC K (16, AES-128 for the nonce) ‖ MAC R (16).
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface KeyFile {
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
  [more: string]: unknown;
}

const CHEAP = { N: 1024, r: 8, p: 1 } as const;

/** Rewrites every key of the local repository at `repo` (opened with `password`) to cheap scrypt parameters. */
export function useCheapKdf(repo: string, password: string): void {
  const dir = join(repo, 'keys');
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    const key = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
    if (key.kdf !== 'scrypt' || key.N <= CHEAP.N) continue;
    const master = decrypt(Buffer.from(key.data, 'base64'), derive(password, key));
    const salt = randomBytes(64);
    const cheap = { ...key, ...CHEAP, salt: salt.toString('base64') };
    cheap.data = encrypt(master, derive(password, cheap)).toString('base64');
    // A key's file name is its id, the SHA-256 of its content (restic ≥ 0.16 checks it): a new key replaces the old.
    const content = JSON.stringify(cheap);
    const renamed = join(dir, createHash('sha256').update(content).digest('hex'));
    writeFileSync(renamed, content, { mode: 0o400 });
    const { uid, gid } = statSync(file); // a repository restic opens as another user stays theirs
    chownSync(renamed, uid, gid);
    rmSync(file);
  }
}

interface Keys {
  readonly enc: Buffer;
  readonly macK: Buffer;
  readonly macR: Buffer;
}

function derive(password: string, k: Pick<KeyFile, 'N' | 'r' | 'p' | 'salt'>): Keys {
  const out = scryptSync(password, Buffer.from(k.salt, 'base64'), 64, { N: k.N, r: k.r, p: k.p, maxmem: 256 * k.N * k.r * k.p + (1 << 20) });
  return { enc: out.subarray(0, 32), macK: out.subarray(32, 48), macR: out.subarray(48, 64) };
}

function decrypt(data: Buffer, keys: Keys): Buffer {
  const iv = data.subarray(0, 16);
  const body = data.subarray(16, data.length - 16);
  if (!mac(body, iv, keys).equals(data.subarray(data.length - 16))) throw new Error('wrong password for this key');
  const d = createDecipheriv('aes-256-ctr', keys.enc, iv);
  return Buffer.concat([d.update(body), d.final()]);
}

function encrypt(plain: Buffer, keys: Keys): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-ctr', keys.enc, iv);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, body, mac(body, iv, keys)]);
}

/** Poly1305-AES: Poly1305 with r = MAC R (clamped) and s = AES-128_K(nonce). */
function mac(msg: Buffer, nonce: Buffer, keys: Keys): Buffer {
  const aes = createCipheriv('aes-128-ecb', keys.macK, null).setAutoPadding(false);
  const s = Buffer.concat([aes.update(nonce), aes.final()]);
  return poly1305(msg, keys.macR, s);
}

const le = (b: Buffer): bigint => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);

function poly1305(msg: Buffer, rBytes: Buffer, sBytes: Buffer): Buffer {
  const p = (1n << 130n) - 5n;
  const r = le(rBytes) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) acc = ((acc + le(Buffer.concat([msg.subarray(i, i + 16), Buffer.from([1])]))) * r) % p;
  acc = (acc + le(sBytes)) & ((1n << 128n) - 1n);
  return Buffer.from(acc.toString(16).padStart(32, '0'), 'hex').reverse();
}

/** After `restic-agent init` in a CLI test: re-keys `<dir>/repo` (password in `<dir>/pass`) when it was created there. */
export function useCheapKdfAfterInit(dir: string, args: ReadonlyArray<string>): void {
  if (args.includes('init') && existsSync(join(dir, 'repo', 'keys'))) useCheapKdf(join(dir, 'repo'), readFileSync(join(dir, 'pass'), 'utf8').trim());
}
