import crypto from 'node:crypto';

// Crockford's base32 without I, L, O, U: no ambiguity when a doctor reads an ID aloud.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A random code of `length` characters: crypto-strength, unrelated to any patient data. */
export function randomCode(length: number): string {
  const bytes = crypto.randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/** A research ID such as "KGH-7F3K9Q2M": the site code, then 8 random characters (40 bits). */
export const newResearchId = (siteCode: string): string => `${siteCode}-${randomCode(8)}`;

/** A UID under the 2.25 root (PS3.5 B.2): a random UUID as an integer, unique across sites without coordination. */
export function newUid(): string {
  const hex = crypto.randomUUID().replace(/-/g, '');
  return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
}
