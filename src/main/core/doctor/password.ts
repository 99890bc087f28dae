import crypto from 'node:crypto';

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s per try): slow for a guesser, quick for the doctor. */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

export interface PasswordHash {
  algorithm: 'scrypt';
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
}

const scrypt = (password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    // maxmem must exceed 128 * N * r bytes, or node refuses the parameters.
    const maxmem = 256 * params.N * params.r;
    crypto.scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT_PARAMS): Promise<PasswordHash> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, params);
  return { algorithm: 'scrypt', salt: salt.toString('hex'), hash: key.toString('hex'), ...params };
}

/** Compares in constant time, with the parameters stored beside the hash (so raising the cost later keeps old hashes valid). */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const key = await scrypt(password, Buffer.from(stored.salt, 'hex'), stored);
  const expected = Buffer.from(stored.hash, 'hex');
  return key.length === expected.length && crypto.timingSafeEqual(key, expected);
}

// Passwords people pick first; a password built around one of these is refused whatever its length.
const COMMON = ['password', 'passwort', 'motdepasse', 'qwerty', 'azerty', '123456', 'letmein', 'welcome', 'admin', 'doctor', 'hospital', 'clinic', 'mammo', 'iloveyou', 'secret', 'abc123'];

/**
 * Why `password` is too weak, or undefined if it is acceptable: at least 12 characters and three kinds of
 * character (lower case, upper case, digits, symbols), or a passphrase of 20 or more; not mostly one
 * repeated character, and not built around a common password.
 */
export function passwordWeakness(password: string): string | undefined {
  if (password.length < 12) return 'The password must have at least 12 characters.';
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((r) => r.test(password)).length;
  if (kinds < 3 && password.length < 20) {
    return 'Use at least three of: lower-case letters, capital letters, digits, symbols (or a passphrase of 20 characters or more).';
  }
  if (new Set(password.toLowerCase()).size < 6) return 'The password repeats too few different characters.';
  const lower = password.toLowerCase();
  const common = COMMON.find((w) => lower.includes(w));
  if (common && lower.replace(common, '').replace(/[^a-z]/g, '').length < 6) return 'The password is built around a common word; choose another.';
  return undefined;
}
