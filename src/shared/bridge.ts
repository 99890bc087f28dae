import type { ApiEventMessage, ApiResult, MethodName } from './api';

/**
 * What the Electron preload puts on `window.gatewayBridge`: one function per contract method (answering with
 * the same ApiResult as the HTTP transport) and one to listen to the core's events. Pure types and names, so
 * the preload, the main process and the renderer agree on them.
 */
export interface GatewayBridge {
  call: Record<MethodName, (input: unknown) => Promise<ApiResult<unknown>>>;
  onEvent(listener: (message: ApiEventMessage) => void): () => void;
  /** The desktop app's native folder dialog (Import screen); the path chosen, or null if cancelled. */
  chooseFolder?(): Promise<string | null>;
}

/** The IPC channel of a method, and the one for events. */
export const channelOf = (method: MethodName): string => `gateway:${method}`;
export const EVENT_CHANNEL = 'gateway:event';
export const CHOOSE_FOLDER_CHANNEL = 'gateway:chooseFolder';

/**
 * Where the preload puts the bridge (contextBridge.exposeInMainWorld): the renderer uses it when present, and
 * the headless runner's HTTP transport otherwise. Calls answer with ApiResult, as errors lose their class
 * crossing the context bridge; the renderer's client turns them back into ApiCallError.
 */
export const GATEWAY_BRIDGE_GLOBAL = 'gatewayBridge';
