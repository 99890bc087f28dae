import { describeStartFailure } from '../../shared/start-failure';

/** What the shell shows when the gateway cannot start: a dialog now, and a red tray that keeps saying why. */
export interface StartFailureView {
  /** The dialog (Electron's dialog.showErrorBox in main.ts). */
  showDialog(title: string, message: string): void;
  /** The tray's error state, with the message as its tooltip. */
  showTrayError(message: string): void;
}

export const START_FAILURE_TITLE = 'The de-identification gateway could not start';

/**
 * Runs the shell's start-up and reports a failure (port 11112 taken by another DICOM program, a keychain that
 * cannot protect the key, a damaged settings file) with the same sentence the headless runner prints, instead
 * of an unhandled rejection behind a tray that looks fine. Resolves true when the gateway runs.
 */
export async function startOrReport(start: () => Promise<void>, intakePort: () => number | undefined, view: StartFailureView): Promise<boolean> {
  try {
    await start();
    return true;
  } catch (error) {
    const message = describeStartFailure(error, intakePort() ?? 11112);
    view.showDialog(START_FAILURE_TITLE, message);
    view.showTrayError(message);
    return false;
  }
}
