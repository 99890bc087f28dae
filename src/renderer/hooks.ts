import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { ApiCallError, type EventName, type GatewayApi } from '../shared/api';

/**
 * A screen with unsaved work holds navigation: `current` answers whether leaving is fine (it may ask the user).
 * Refused, the address goes back and the screen stays (App's hash router asks it).
 */
export const leaveGuard: { current?: () => boolean } = {};

export const ApiContext = createContext<GatewayApi | null>(null);

export function useApi(): GatewayApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('GatewayApi missing');
  return api;
}

export const errorText = (error: unknown): string => (error instanceof ApiCallError || error instanceof Error ? error.message : String(error));

/**
 * Loads data and loads it again when one of `events` arrives (at most every `quietMs`), or every `everyMs`:
 * the screens stay live without a reload and without a storm of requests while a study streams in.
 */
export function useLive<T>(load: () => Promise<T>, deps: unknown[], options: { events?: EventName[]; everyMs?: number; quietMs?: number } = {}) {
  const api = useApi();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const reload = useCallback(() => {
    const mine = ++generation.current;
    loadRef.current().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (e: unknown) => {
        if (mine === generation.current) setError(errorText(e));
      },
    );
  }, []);

  useEffect(() => {
    reload();
  }, deps);

  const events = (options.events ?? []).join(',');
  useEffect(() => {
    const quietMs = options.quietMs ?? 300;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const soon = (): void => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        reload();
      }, quietMs);
    };
    const offs = (events ? (events.split(',') as EventName[]) : []).map((e) => api.on(e, soon));
    const interval = options.everyMs ? setInterval(reload, options.everyMs) : undefined;
    return () => {
      offs.forEach((off) => off());
      if (timer) clearTimeout(timer);
      if (interval) clearInterval(interval);
    };
  }, [api, events, options.everyMs, options.quietMs, reload]);

  return { data, error, reload };
}

export const formatDate = (da: string): string => (/^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : da || '—');

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === today.toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

/** A moment as a local date and time, unambiguous in every locale: "2026-12-04 21:10:05". */
export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(0)} KB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${(n / 1024 ** 3).toFixed(2)} GB`;

export const STATE_LABELS: Record<string, string> = {
  'in-progress': 'In progress', retrying: 'Retrying', complete: 'Complete', held: 'Held', failed: 'Failed',
  received: 'Received', deidentified: 'De-identified', uploading: 'Uploading', uploaded: 'Uploaded', discarded: 'Discarded',
};
