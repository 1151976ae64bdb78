import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';

/** A configuration problem the user must fix (bad URL, missing CA file, pin format…). */
export class OrchestratorConfigError extends Error {
  override readonly name = 'OrchestratorConfigError';
}

/** TLS / URL settings of the orchestrator connection. */
export interface TransportOptions {
  readonly url: string;
  /** PEM file with the private CA that signed the orchestrator's certificate. */
  readonly caFile?: string | null;
  /** The same CA as PEM text (already read). */
  readonly ca?: string | null;
  /** `spki-sha256:<base64>` from the enrollment token: a certificate of the chain must have this SPKI hash. */
  readonly caPin?: string | null;
  /** Allow plain `http://` to a loopback address (development and tests only). */
  readonly insecureLoopback?: boolean;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** localhost, 127.0.0.0/8 or ::1 (bracketed or not): the one loopback rule of config validation and both clients. */
export function isLoopbackHost(host: string): boolean {
  if (LOOPBACK_NAMES.has(host)) return true;
  const bare = host.replace(/^\[|\]$/g, '');
  return isIP(bare) === 4 ? bare.startsWith('127.') : bare === '::1';
}

/**
 * Validates the orchestrator URL (spec §2.1): `https://` only; `http://` only to a loopback address and only
 * with `insecureLoopback: true`. Returns the base URL without a trailing slash.
 */
export function checkOrchestratorUrl(url: string, insecureLoopback = false): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OrchestratorConfigError(`orchestrator.url: "${url}" is not a valid URL; use https://host[:port]`);
  }
  if (parsed.username || parsed.password) {
    throw new OrchestratorConfigError('orchestrator.url: must not contain user:password; the agent token is used instead');
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (!isLoopbackHost(parsed.hostname)) {
      throw new OrchestratorConfigError(
        `orchestrator.url: must use https:// (plain http:// is refused for ${parsed.hostname}; it is allowed only to a loopback address with orchestrator.insecure_loopback: true)`,
      );
    }
    if (!insecureLoopback) {
      throw new OrchestratorConfigError(
        'orchestrator.url: plain http:// to a loopback address needs orchestrator.insecure_loopback: true (development only); otherwise use https://',
      );
    }
    return parsed;
  }
  throw new OrchestratorConfigError(`orchestrator.url: unsupported scheme "${parsed.protocol}"; use https://`);
}

/** Parses a `spki-sha256:<base64>` pin; throws a config error naming the format. */
export function parseCaPin(pin: string): Buffer {
  const m = /^spki-sha256:([A-Za-z0-9+/_-]+={0,2})$/.exec(pin.trim());
  const raw = m?.[1] ? Buffer.from(m[1].replace(/-/g, '+').replace(/_/g, '/'), 'base64') : null;
  if (!raw || raw.length !== 32) {
    throw new OrchestratorConfigError('enrollment token: CA pin must be "spki-sha256:<base64 of 32 bytes>"');
  }
  return raw;
}

/** SHA-256 of a certificate's SubjectPublicKeyInfo (DER), the value a `spki-sha256` pin names. */
export function spkiSha256(certDer: Buffer): Buffer {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest();
}

/** Hostname check plus the optional CA pin, run inside the TLS handshake before any request is sent. */
export function pinnedIdentityCheck(pin: Buffer | null) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const err = checkServerIdentity(host, cert);
    if (err || !pin) return err;
    const seen = new Set<PeerCertificate>();
    let c: PeerCertificate | undefined = cert;
    while (c && !seen.has(c) && c.raw) {
      seen.add(c);
      if (spkiSha256(c.raw).equals(pin)) return undefined;
      c = (c as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
    }
    return new Error('orchestrator certificate does not match the CA pin of the enrollment token; refusing to send secrets');
  };
}

/**
 * Creates the undici dispatcher: TLS ≥ 1.2, verification always on, private CA and pin when given. This is the
 * one transport of managed mode: the dialect probe, every v1 route and every restic-monitor route use it, so a
 * pin is checked in the handshake before any request byte leaves the agent.
 */
export function createDispatcher(opts: TransportOptions): Dispatcher {
  const base = checkOrchestratorUrl(opts.url, opts.insecureLoopback);
  const pin = opts.caPin ? parseCaPin(opts.caPin) : null;
  if (pin && base.protocol !== 'https:') {
    throw new OrchestratorConfigError('enrollment token carries a CA pin, which needs an https:// orchestrator.url');
  }
  let ca: string | undefined = opts.ca ?? undefined;
  if (!ca && opts.caFile) {
    try {
      ca = readFileSync(opts.caFile, 'utf8');
    } catch (e) {
      throw new OrchestratorConfigError(`orchestrator.ca_file: cannot read ${opts.caFile}: ${(e as Error).message}`);
    }
  }
  return new Agent({
    connect: {
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(ca ? { ca } : {}),
      checkServerIdentity: pinnedIdentityCheck(pin),
    },
    keepAliveTimeout: 10_000,
  });
}

/** A UUIDv7 (time-ordered) for `X-Request-Id`. */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
