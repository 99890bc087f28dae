import { contextBridge, ipcRenderer } from 'electron';
import { METHOD_NAMES, type ApiEventMessage, type ApiResult } from '../../shared/api';
import { channelOf, CHOOSE_FOLDER_CHANNEL, EVENT_CHANNEL, GATEWAY_BRIDGE_GLOBAL, type GatewayBridge } from '../../shared/bridge';

// The page gets one function per contract method and one to listen to events: never ipcRenderer itself.
const bridge: GatewayBridge = {
  call: Object.fromEntries(METHOD_NAMES.map((m) => [m, (input: unknown) => ipcRenderer.invoke(channelOf(m), input) as Promise<ApiResult<unknown>>])) as GatewayBridge['call'],
  onEvent(listener) {
    const handler = (_event: unknown, message: ApiEventMessage): void => listener(message);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
  chooseFolder: () => ipcRenderer.invoke(CHOOSE_FOLDER_CHANNEL) as Promise<string | null>,
};
contextBridge.exposeInMainWorld(GATEWAY_BRIDGE_GLOBAL, bridge);
