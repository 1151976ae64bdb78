import { describe, expect, it } from 'vitest';
import { checkOrchestratorUrl, OrchestratorConfigError, parseCaPin, uuidv7 } from '../../../src/main/core/managed/transport.js';
import { parseEnrollmentToken } from '../../../src/main/core/managed/v1/enrollment.js';

describe('orchestrator URL rules', () => {
  it('accepts https', () => {
    expect(checkOrchestratorUrl('https://orch.example.com').hostname).toBe('orch.example.com');
  });
  it('refuses http to a non-loopback host even with insecureLoopback', () => {
    expect(() => checkOrchestratorUrl('http://orch.example.com', true)).toThrow(/https.*refused/);
  });
  it('refuses http to loopback without the setting, naming it', () => {
    expect(() => checkOrchestratorUrl('http://127.0.0.1:8080')).toThrow(/insecure_loopback/);
    expect(() => checkOrchestratorUrl('http://127.0.0.1:8080')).toThrow(OrchestratorConfigError);
  });
  it('allows http to loopback with the setting', () => {
    expect(checkOrchestratorUrl('http://127.0.0.1:8080', true).port).toBe('8080');
    expect(checkOrchestratorUrl('http://[::1]:8080', true).port).toBe('8080');
    expect(checkOrchestratorUrl('http://localhost:1', true).hostname).toBe('localhost');
  });
  it('refuses other schemes and credentials in the URL', () => {
    expect(() => checkOrchestratorUrl('ftp://x')).toThrow(/scheme/);
    expect(() => checkOrchestratorUrl('https://u:p@x')).toThrow(/user:password/);
  });
});

describe('enrollment token and pin', () => {
  it('splits the bearer and the CA pin', () => {
    const pin = `spki-sha256:${Buffer.alloc(32, 7).toString('base64')}`;
    expect(parseEnrollmentToken(`bke_01ABC.s3cr3t#${pin}`)).toEqual({ bearer: 'bke_01ABC.s3cr3t', caPin: pin });
    expect(parseEnrollmentToken('bke_01ABC.s3cr3t')).toEqual({ bearer: 'bke_01ABC.s3cr3t', caPin: null });
  });
  it('rejects malformed tokens and pins', () => {
    expect(() => parseEnrollmentToken('hello')).toThrow(/bke_/);
    expect(() => parseCaPin('spki-sha256:abc')).toThrow(/32 bytes/);
    expect(() => parseEnrollmentToken('bke_a.b#sha1:xx')).toThrow(/pin/);
  });
  it('makes time-ordered uuidv7 ids', () => {
    const a = uuidv7(1000);
    const b = uuidv7(2000);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
  });
});
