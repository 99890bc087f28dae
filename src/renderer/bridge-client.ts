import { ApiCallError, METHOD_NAMES, type ApiEvents, type EventName, type GatewayApi } from '../shared/api';
import type { GatewayBridge } from '../shared/bridge';

/** The GatewayApi over the Electron preload's bridge: the same contract and errors as over HTTP. */
export function createBridgeGatewayApi(bridge: GatewayBridge): GatewayApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  bridge.onEvent((message) => {
    for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
  });
  const client: Record<string, unknown> = {
    on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const l = listener as (payload: unknown) => void;
      set.add(l);
      return () => void set.delete(l);
    },
  };
  for (const name of METHOD_NAMES) {
    client[name] = async (input: unknown) => {
      const result = await bridge.call[name](input ?? {});
      if (!result.ok) throw new ApiCallError(result.error);
      return result.value;
    };
  }
  return client as unknown as GatewayApi;
}
