import { useEffect, useState } from 'react';
import { leaveGuard } from './hooks';
import { StatusScreen } from './screens/Status';
import { StudiesScreen } from './screens/Studies';
import { StudyDetailScreen } from './screens/StudyDetail';
import { ResendScreen } from './screens/Resend';
import { ReviewScreen } from './screens/Review';
import { SettingsScreen } from './screens/Settings';
import { CrosswalkScreen } from './screens/Crosswalk';
import type { SignedOutReason } from './api-client';
import { ImportScreen } from './screens/Import';

const SCREENS = [
  { path: 'status', label: 'Status', key: '1' },
  { path: 'studies', label: 'Studies', key: '2' },
  { path: 'resend', label: 'Resend', key: '3' },
  { path: 'review', label: 'Review list', key: '4' },
  { path: 'settings', label: 'Settings', key: '5' },
  { path: 'crosswalk', label: 'Crosswalk (doctor)', key: '6' },
  { path: 'import', label: 'Import', key: '7' },
] as const;

const routeOf = (hash: string): string[] => hash.replace(/^#\/?/, '').split('/').filter(Boolean);

export interface Connection {
  listeners: Set<(connected: boolean) => void>;
  connected: boolean;
}

export function App({ connection }: { connection: Connection }) {
  const [route, setRoute] = useState(() => routeOf(window.location.hash));
  const [connected, setConnected] = useState(connection.connected);

  useEffect(() => {
    let shownHash = window.location.hash;
    const onHash = (): void => {
      if (window.location.hash === shownHash) return;
      if (leaveGuard.current && !leaveGuard.current()) {
        window.history.replaceState(null, '', shownHash || '#/');
        return;
      }
      shownHash = window.location.hash;
      setRoute(routeOf(window.location.hash));
    };
    // Alt+1 … Alt+6 open the screens, for people who work from the keyboard.
    const onKey = (e: KeyboardEvent): void => {
      const screen = SCREENS.find((s) => s.key === e.key);
      if (e.altKey && screen) {
        e.preventDefault();
        window.location.hash = `#/${screen.path}`;
      }
    };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('keydown', onKey);
    connection.listeners.add(setConnected);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('keydown', onKey);
      connection.listeners.delete(setConnected);
    };
  }, [connection]);

  useEffect(() => {
    // Move focus to the new screen's heading, so keyboard and screen-reader users land on it.
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [route[0]]);

  const [screen = 'status', param] = route;
  let content;
  if (screen === 'studies' && param) content = <StudyDetailScreen studyKey={Number(param)} />;
  else if (screen === 'studies') content = <StudiesScreen />;
  else if (screen === 'resend') content = <ResendScreen />;
  else if (screen === 'review') content = <ReviewScreen />;
  else if (screen === 'settings') content = <SettingsScreen />;
  else if (screen === 'crosswalk') content = <CrosswalkScreen />;
  else if (screen === 'import') content = <ImportScreen />;
  else content = <StatusScreen />;

  return (
    <div className="app">
      <a className="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>Skip to content</a>
      <nav className="nav" aria-label="Screens">
        <div className="brand">De-identification<br />gateway</div>
        <ul>
          {SCREENS.map((s) => (
            <li key={s.path}>
              <a href={`#/${s.path}`} aria-current={screen === s.path ? 'page' : undefined} title={`Alt+${s.key}`}>{s.label}</a>
            </li>
          ))}
        </ul>
        {!connected && <p className="offline" role="status">Connection to the gateway lost: reconnecting…</p>}
      </nav>
      <main id="content" tabIndex={-1}>{content}</main>
    </div>
  );
}

/**
 * The page without a session (no cookie yet, a refused or spent one-time address, or a gateway that restarted):
 * says how to get in, rather than a raw error. Nothing here needs the API.
 */
export function SignedOut({ reason }: { reason: SignedOutReason }) {
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, []);
  const why = reason.kind === 'ended'
    ? 'The gateway was restarted (or this session ended), so this page is no longer signed in.'
    : reason.kind === 'refused'
      ? reason.message
      : 'This browser has no session with the gateway.';
  return (
    <main id="content" className="signed-out" data-testid="signed-out">
      <div className="card narrow">
        <h1 tabIndex={-1}>Open the gateway from its shortcut</h1>
        <p>{why}</p>
        <p>
          To open the screens, use the gateway's shortcut, or run <code>npm run open</code> on this computer (in the gateway's folder).
          It opens a new address that works once; after that, reloading this page keeps you signed in.
        </p>
      </div>
    </main>
  );
}
