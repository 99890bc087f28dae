import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ApiContext } from './hooks';
import { createHttpGatewayApi } from './api-client';
import { createBridgeGatewayApi } from './bridge-client';
import { GATEWAY_BRIDGE_GLOBAL, type GatewayBridge } from '../shared/bridge';
import './styles.css';

// The runner prints the address with ?token=…; keep the token for this tab and take it out of the address bar.
const fromUrl = new URLSearchParams(window.location.search).get('token');
if (fromUrl) {
  sessionStorage.setItem('gateway-token', fromUrl);
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.hash || '#/status'}`);
}
const token = sessionStorage.getItem('gateway-token') ?? '';

const connection = { listeners: new Set<(connected: boolean) => void>(), connected: true };
// In the desktop app the preload provides the client over IPC; served by the headless runner, it is HTTP.
const bridge = (window as unknown as Record<string, GatewayBridge | undefined>)[GATEWAY_BRIDGE_GLOBAL];
const api = bridge ? createBridgeGatewayApi(bridge) : createHttpGatewayApi(token, (connected) => {
  connection.connected = connected;
  connection.listeners.forEach((l) => l(connected));
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiContext.Provider value={api}>
      <App connection={connection} />
    </ApiContext.Provider>
  </StrictMode>,
);
