import type { DestinationSettings } from './settings';

/**
 * Where a destination's password goes: scheme, host and port for an HTTP destination (default ports written
 * out), host and port for DICOM. Undefined when the destination names no server yet.
 */
export function destinationOrigin(d: Pick<DestinationSettings, 'type' | 'url' | 'host' | 'port'> | undefined): string | undefined {
  if (!d) return undefined;
  if (d.type === 'dimse') return d.host && d.port ? `dicom://${d.host.toLowerCase()}:${d.port}` : undefined;
  if (!d.url) return undefined;
  let url: URL;
  try {
    url = new URL(d.url);
  } catch {
    return undefined;
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '');
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

/**
 * The saved password may be sent again only to the server it was saved for: the same scheme, host and port.
 * Any other (a new host, http instead of https, another port) must be given its password anew.
 */
export function savedPasswordApplies(
  saved: Pick<DestinationSettings, 'type' | 'url' | 'host' | 'port'> | undefined,
  next: Pick<DestinationSettings, 'type' | 'url' | 'host' | 'port'>,
): boolean {
  const a = destinationOrigin(saved);
  return a !== undefined && a === destinationOrigin(next);
}
