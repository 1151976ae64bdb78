import { editConfigFile } from '../config/edit.js';
import { registerSecret } from '../log/redact.js';
import { enroll, parseEnrollmentToken } from '../managed/v1/enrollment.js';
import { rmTokenAccount } from '../managed/restic-monitor/api.js';
import { detectDialect, type Dialect } from '../managed/detect-dialect.js';
import { readCaFile } from '../config/read-ca.js';
import { type ResticVersion, versionNumber } from '../restic/restic.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { StateDb } from '../state/db.js';

/** `restic-agent enroll` / the wizard's managed step. */
export interface EnrollRequest {
  readonly url: string;
  /** v1: the single-use enrollment token; restic-monitor: the shared API credential. */
  readonly token: string;
  readonly caFile: string | null;
  readonly protocol: 'v1' | 'restic-monitor' | 'auto';
  readonly insecureLoopback: boolean;
  /** Replace an existing enrollment (without it, enrolling over one is refused with what it would replace). */
  readonly force?: boolean;
}

interface EnrollContext {
  readonly configPath: string;
  readonly db: StateDb;
  readonly secrets: SecretStore;
  readonly agentVersion: string;
  readonly version: ResticVersion;
  readonly hostname: string;
}

/** The `#spki-sha256:…` suffix of a v1 enrollment token (validated), or null. */
function pinOf(token: string): string | null {
  return token.trim().startsWith('bke_') && token.includes('#') ? parseEnrollmentToken(token).caPin : null;
}

/**
 * Connects the agent to an orchestrator: v1 exchanges the enrollment token for an agent token (kept only in
 * the secret store; the enrollment token is discarded), restic-monitor stores its shared credential. The config
 * file then gets an `orchestrator:` section — never the token.
 */
export async function enrollAgent(e: EnrollRequest, ctx: EnrollContext): Promise<{ agentId: string | null; dialect: Dialect }> {
  registerSecret(e.token);
  const ca = await readCaFile(e.caFile);
  // A v1 enrollment token may carry a CA pin: it guards the probe too (no request before the pin matched).
  const caPin = pinOf(e.token);
  const dialect =
    e.protocol === 'auto' ? await detectDialect(e.url, { insecureLoopback: e.insecureLoopback, ca, caPin, agentVersion: ctx.agentVersion }) : e.protocol;
  let agentId: string | null = null;
  if (dialect === 'v1') {
    const result = await enroll({
      url: e.url,
      enrollmentToken: e.token,
      caFile: e.caFile,
      insecureLoopback: e.insecureLoopback,
      secrets: ctx.secrets,
      db: ctx.db,
      agentVersion: ctx.agentVersion,
      resticVersion: versionNumber(ctx.version),
      hostname: ctx.hostname,
      signal: AbortSignal.timeout(120_000),
    });
    agentId = result.agentId;
  } else {
    await ctx.secrets.set(rmTokenAccount(e.url), e.token);
  }
  const section = { url: e.url, protocol: dialect, ...(e.caFile ? { ca_file: e.caFile } : {}), ...(e.insecureLoopback ? { insecure_loopback: true } : {}) };
  await editConfigFile(ctx.configPath, (doc) => doc.setIn(['orchestrator'], doc.createNode(section)));
  return { agentId, dialect };
}
