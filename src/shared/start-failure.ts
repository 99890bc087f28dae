/**
 * What a technologist reads when the gateway cannot start: the same sentence from the headless runner's console
 * and from the desktop app's dialog and tray. The common case is another DICOM program on the intake port.
 */
export function describeStartFailure(error: unknown, intakePort: number): string {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const hint = e?.code === 'EADDRINUSE'
    ? ` (port ${intakePort} is in use, often by another DICOM program: stop it, or choose another intake.port in Settings)`
    : '';
  return `Gateway could not start: ${message}${hint}`;
}
