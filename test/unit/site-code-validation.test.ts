import { describe, expect, it } from 'vitest';
import { GatewaySettings, SiteSettings } from '../../src/shared/settings';

describe('site codes that can never be valid are refused when settings are saved', () => {
  it('accepts the README\'s example and other codes with a letter', () => {
    expect(SiteSettings.parse({ code: 'KGH' }).code).toBe('KGH');
    expect(SiteSettings.parse({ code: 'SITE2' }).code).toBe('SITE2');
  });

  it('refuses a code of digits alone, saying why', () => {
    const result = GatewaySettings.safeParse({ site: { code: '19650723' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join(' ')).toMatch(/at least one letter.*birth date, ID or accession/);
  });

  it.each(['NONE', 'ANON', 'UNKNOWN', 'YES', 'DCM'])('refuses the placeholder %s', (code) => {
    const result = SiteSettings.safeParse({ code });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/placeholder/);
  });
});
