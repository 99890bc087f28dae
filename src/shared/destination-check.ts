/** What the research Orthanc check found: the UI's "Test connection" shows it, start-up logs it. */
export const DESTINATION_PROBLEMS = [
  'unreachable',
  'certificate',
  'unauthorized',
  'not-orthanc',
  'version-too-old',
  'upload-forbidden',
  'unexpected-answer',
] as const;
export type DestinationProblemCode = (typeof DESTINATION_PROBLEMS)[number];

export interface DestinationCheck {
  /** True when the gateway can upload: reachable, password accepted, upload allowed, version supported. */
  ok: boolean;
  /** The first thing to fix; absent when ok. One sentence a technologist can act on. */
  problem?: { code: DestinationProblemCode; message: string };
  /** Worth telling, not blocking (e.g. the account may also read every study). */
  warnings: string[];
  server?: { name: string; version: string; apiVersion: number };
}
