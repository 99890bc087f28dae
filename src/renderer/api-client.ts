import {
  ApiCallError, EVENT_NAMES, METHOD_NAMES, type ApiEvents, type ApiResult, type EventName, type GatewayApi, type MethodName,
} from '../shared/api';

/**
 * The GatewayApi over the headless runner's HTTP API: one POST per call with the token in a header, and one
 * EventSource for the events (the token in its URL, as EventSource cannot send headers).
 */
export function createHttpGatewayApi(token: string, onConnection?: (connected: boolean) => void): GatewayApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let source: EventSource | undefined;

  const connect = (): void => {
    if (source) return;
    source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
    source.onopen = () => onConnection?.(true);
    source.onerror = () => onConnection?.(false);
    for (const name of EVENT_NAMES) {
      source.addEventListener(name, (e) => {
        const payload: unknown = JSON.parse((e as MessageEvent<string>).data);
        for (const listener of listeners.get(name) ?? []) listener(payload);
      });
    }
  };

  const call = async (method: MethodName, input: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(`/api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Gateway-Token': token },
        body: JSON.stringify(input ?? {}),
      });
    } catch {
      throw new ApiCallError({ code: 'unavailable', message: 'The gateway does not answer: check that it is running, then reload this page' });
    }
    let result: ApiResult<unknown>;
    try {
      result = (await response.json()) as ApiResult<unknown>;
    } catch {
      throw new ApiCallError({ code: 'unavailable', message: `The gateway answered HTTP ${response.status} without a result` });
    }
    if (!result.ok) throw new ApiCallError(result.error);
    return result.value;
  };

  const client: Record<string, unknown> = {
    on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void {
      connect();
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const l = listener as (payload: unknown) => void;
      set.add(l);
      return () => void set.delete(l);
    },
  };
  for (const name of METHOD_NAMES) client[name] = (input: unknown) => call(name, input);
  return client as unknown as GatewayApi;
}
