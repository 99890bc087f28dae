/**
 * Window lifecycle decisions, apart from Electron so they can be tested: the gateway keeps receiving images
 * when its window is closed, so closing hides the window and only "Quit" (tray menu, OS shutdown) ends the app.
 */
export class WindowPolicy {
  private quitting = false;

  /** The user chose Quit, or the OS is shutting down: let windows close. */
  beginQuit(): void {
    this.quitting = true;
  }

  get isQuitting(): boolean {
    return this.quitting;
  }

  /** On a window's close request: true to cancel it and hide the window instead. */
  hideInsteadOfClose(): boolean {
    return !this.quitting;
  }

  /** With every window closed the app stays in the tray (on every platform, macOS included). */
  quitWhenAllWindowsClosed(): boolean {
    return false;
  }
}
