import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, SignedOut } from './App';
import { ApiContext } from './hooks';
import { createHttpGatewayApi, hasSession, openSession, type SignedOutReason } from './api-client';
import { createBridgeGatewayApi } from './bridge-client';
import { GATEWAY_BRIDGE_GLOBAL, type GatewayBridge } from '../shared/bridge';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
const connection = { listeners: new Set<(connected: boolean) => void>(), connected: true };

const showSignedOut = (reason: SignedOutReason): void => root.render(<StrictMode><SignedOut reason={reason} /></StrictMode>);

function showApp(api: ReturnType<typeof createHttpGatewayApi>): void {
  root.render(
    <StrictMode>
      <ApiContext.Provider value={api}>
        <App connection={connection} />
      </ApiContext.Provider>
    </StrictMode>,
  );
}

/**
 * Served by the headless runner, the page is let in by a session cookie. A one-time address ends in #open=CODE:
 * the code leaves the address bar (and so the history) before anything else, then is exchanged for the cookie.
 * Reloading keeps the session; without one the page says how to get in.
 */
async function startHttp(): Promise<void> {
  const code = /^#open=([A-Za-z0-9_-]{1,100})$/.exec(window.location.hash)?.[1];
  if (code) window.history.replaceState(null, '', `${window.location.pathname}#/status`);
  let refused: string | undefined;
  try {
    if (code) {
      const opened = await openSession(code);
      if (!opened.ok) refused = opened.message;
    }
    // A refused address with a session still alive (a second tab, an old link) simply goes on in.
    if (!(await hasSession())) return showSignedOut(refused ? { kind: 'refused', message: refused } : { kind: 'none' });
  } catch {
    return showSignedOut({ kind: 'refused', message: 'The gateway does not answer: check that it is running.' });
  }
  let ended = false;
  const api = createHttpGatewayApi(
    (connected) => {
      connection.connected = connected;
      connection.listeners.forEach((l) => l(connected));
    },
    () => {
      if (ended) return;
      ended = true;
      showSignedOut({ kind: 'ended' });
    },
  );
  showApp(api);
}

// In the desktop app the preload provides the client over IPC (no session needed); served over HTTP, it is the cookie.
const bridge = (window as unknown as Record<string, GatewayBridge | undefined>)[GATEWAY_BRIDGE_GLOBAL];
if (bridge) showApp(createBridgeGatewayApi(bridge));
else {
  // A one-time address pasted into a tab already on the gateway changes only the fragment: start again from it.
  window.addEventListener('hashchange', () => {
    if (/^#open=/.test(window.location.hash)) window.location.reload();
  });
  void startHttp();
}
