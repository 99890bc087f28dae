import {
  ApiCallError, EVENT_NAMES, METHOD_NAMES, type ApiEvents, type ApiResult, type EventName, type GatewayApi, type MethodName,
} from '../shared/api';

/** Why the page has no session: never had one, its one-time address was refused, or the gateway restarted. */
export type SignedOutReason = { kind: 'none' } | { kind: 'refused'; message: string } | { kind: 'ended' };

/** Asks the headless runner whether this browser has a session (its HttpOnly cookie, which the page cannot read). */
export async function hasSession(): Promise<boolean> {
  const response = await fetch('/session', { credentials: 'same-origin' });
  const result = (await response.json()) as ApiResult<{ signedIn: boolean }>;
  return result.ok && result.value.signedIn;
}

/** Exchanges a one-time code (from the address's #open=…) for the session cookie; the code is spent either way. */
export async function openSession(code: string): Promise<{ ok: true } | { ok: false; message: string }> {
  const response = await fetch('/session', {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code }),
  });
  const result = (await response.json()) as ApiResult<unknown>;
  return result.ok ? { ok: true } : { ok: false, message: result.error.message };
}

/**
 * The GatewayApi over the headless runner's HTTP API: one POST per call and one EventSource for the events,
 * both carried by the session cookie (no secret in any URL). `onSignedOut` is told when the gateway no longer
 * knows the session (a restart), so the page can say how to get back in instead of showing errors.
 */
export function createHttpGatewayApi(onConnection?: (connected: boolean) => void, onSignedOut?: () => void): GatewayApi {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let source: EventSource | undefined;

  const connect = (): void => {
    if (source) return;
    source = new EventSource('/api/events');
    source.onopen = () => onConnection?.(true);
    source.onerror = () => {
      onConnection?.(false);
      // EventSource gives up for good on a 401, and retries on its own otherwise: ask which it was.
      void hasSession().then((signedIn) => {
        if (signedIn) return;
        source?.close();
        onSignedOut?.();
      }, () => undefined);
    };
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
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(input ?? {}),
      });
    } catch {
      throw new ApiCallError({ code: 'unavailable', message: 'The gateway does not answer: check that it is running' });
    }
    if (response.status === 401) onSignedOut?.();
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
