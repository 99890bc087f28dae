/**
 * The screens' Content-Security-Policy, one definition for every way they are loaded: the headless server's
 * header, the `<meta>` the build writes into index.html (the only CSP a page loaded from file:// in the desktop
 * window gets) and the desktop session's header. Only the app's own scripts and styles; thumbnails arrive as
 * data:/blob: URLs; no frames, no plugins, no forms posting elsewhere.
 */
const DIRECTIVES: ReadonlyArray<readonly [string, string]> = [
  ['default-src', "'none'"],
  ['script-src', "'self'"],
  ['style-src', "'self'"],
  ['img-src', "'self' data: blob:"],
  ['connect-src', "'self'"],
  ['font-src', "'self'"],
  ['object-src', "'none'"],
  ['frame-src', "'none'"],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['frame-ancestors', "'none'"],
];

/** As an HTTP header (headless server, desktop session). */
export const CONTENT_SECURITY_POLICY = DIRECTIVES.map(([name, value]) => `${name} ${value}`).join('; ');

/** As a `<meta http-equiv>`: browsers ignore frame-ancestors there (and warn), so it is left out; X-Frame-Options and the header cover it. */
export const CONTENT_SECURITY_POLICY_META = DIRECTIVES.filter(([name]) => name !== 'frame-ancestors')
  .map(([name, value]) => `${name} ${value}`)
  .join('; ');
