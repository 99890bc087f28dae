import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt, RENDERER_INDEX } from '../support/renderer-build';
import { CONTENT_SECURITY_POLICY } from '../../src/shared/csp';
import { CONTENT_SECURITY_POLICY as DESKTOP_POLICY } from '../../src/main/electron/security';

// Written out here, not imported: what the built page must carry, whatever the constant says.
const EXPECTED_META = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'";

/** The desktop window loads index.html from file://, where only a <meta> can carry the CSP (issue 17). */
describe('the built screens\' Content-Security-Policy', () => {
  let html: string;
  beforeAll(async () => {
    await ensureRendererBuilt();
    html = fs.readFileSync(RENDERER_INDEX, 'utf8');
  }, 120_000);

  it('is a <meta http-equiv> in the built index.html, before any script, with the strict policy', () => {
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    expect(meta).not.toBeNull();
    expect(meta![1]!.replace(/&#39;/g, "'")).toBe(EXPECTED_META);
    expect(html.indexOf('http-equiv="Content-Security-Policy"')).toBeLessThan(html.indexOf('<script'));
    // No inline script the policy would have to allow: every script has a src.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
  });

  it('is the same policy the headless server and the desktop session send as a header (plus frame-ancestors)', () => {
    expect(DESKTOP_POLICY).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toBe(`${EXPECTED_META}; frame-ancestors 'none'`);
  });
});
