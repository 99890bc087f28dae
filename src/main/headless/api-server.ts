import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ApiDispatcher } from '../core/api';
import type { ApiErrorCode, ApiResult } from '../../shared/api';
import type { Logger } from '../core/log';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { ScreenSessions } from './sessions';

/**
 * The screens' API over HTTP on 127.0.0.1: POST /api/<method> with JSON, server-sent events on /api/events.
 * The browser is let in by a session cookie it gets for a one-time address; the long-lived control token
 * (for `npm run open` and scripts, in a header only) never appears in a URL.
 */
export interface ApiServer {
  port: number;
  /** The long-lived control token: accepted only in the X-Gateway-Token header, never in a URL. */
  token: string;
  /** The screens' address without any secret (what a bookmark holds). */
  origin: string;
  /** A new one-time address (http://127.0.0.1:PORT/#open=CODE): one use, ONE_TIME_TTL_MS. */
  oneTimeAddress(): string;
  close(): Promise<void>;
}

export interface ApiServerOptions {
  dispatcher: ApiDispatcher;
  /** The built renderer (vite build output). */
  staticDir: string;
  logger: Logger;
  /** 0: any free port. */
  port?: number;
  /** Tests may fix it; otherwise 256 random bits, new at each start. */
  token?: string;
}

/**
 * The cookie the browser holds for its session; HttpOnly, so the page's scripts never see it. Cookies are not kept
 * apart by port, so the name carries it: two gateways on one computer do not overwrite each other's session.
 */
export const sessionCookieName = (port: number): string => `deid_gateway_session_${port}`;

const MAX_BODY_BYTES = 2 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.woff2': 'font/woff2', '.map': 'application/json',
};
const STATUS_OF: Record<ApiErrorCode, number> = {
  'unknown-method': 404, 'invalid-input': 400, 'not-found': 404, locked: 403, refused: 409, conflict: 409, unavailable: 503, internal: 500,
};
const COMMON_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };

const sameToken = (given: string | undefined | null, token: string): boolean => {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
};

function send(res: http.ServerResponse, status: number, body: string | Buffer, type = 'application/json; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

const sendJson = (res: http.ServerResponse, status: number, value: unknown): void => send(res, status, JSON.stringify(value));

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

const REFUSED_WITHOUT_SESSION = {
  ok: false,
  error: { code: 'refused', message: 'No session: open the gateway from its shortcut, or run "npm run open" on this computer' },
} as const;

/**
 * Starts the HTTP server on 127.0.0.1 only. The page and its files are served to anyone on this computer (they
 * hold no data); the API needs a session cookie or the control token in its header.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const log = options.logger.child('ui');
  const token = options.token ?? crypto.randomBytes(32).toString('base64url');
  const staticRoot = path.resolve(options.staticDir);
  const streams = new Set<http.ServerResponse>();
  const sessions = new ScreenSessions();
  let port = 0;
  const oneTimeAddress = (): string => `http://127.0.0.1:${port}/#open=${sessions.mintCode()}`;

  const allowedHosts = (): Set<string> => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const serveFile = (res: http.ServerResponse, relative: string): void => {
    const file = path.resolve(staticRoot, `.${relative}`);
    if (!file.startsWith(staticRoot + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      if (relative === '/index.html') return send(res, 503, 'The screens are not built: run "npm run build:renderer", then reload.', 'text/plain; charset=utf-8');
      return send(res, 404, 'Not found', 'text/plain; charset=utf-8');
    }
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    send(res, 200, fs.readFileSync(file), type, type.startsWith('text/html') ? { 'Content-Security-Policy': CONTENT_SECURITY_POLICY } : {});
  };

  const openEvents = (res: http.ServerResponse): void => {
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    streams.add(res);
    const unsubscribe = options.dispatcher.subscribe(({ event, payload }) => res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`));
    const heartbeat = setInterval(() => res.write(': still here\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      // A page on another site could reach 127.0.0.1 through a DNS name it controls: only our own host names are served.
      if (!allowedHosts().has(req.headers.host ?? '')) return send(res, 403, 'Forbidden host', 'text/plain; charset=utf-8');
      const origin = req.headers.origin;
      if (origin && !allowedHosts().has(origin.replace(/^http:\/\//, ''))) return send(res, 403, 'Forbidden origin', 'text/plain; charset=utf-8');
      const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
      // The control token only ever in a header: a URL lands in history, logs and `ps`.
      const header = req.headers['x-gateway-token'];
      const byToken = sameToken(Array.isArray(header) ? header[0] : header, token);
      const sessionId = cookieOf(req, sessionCookieName(port));
      // A POST riding on the cookie must come from our own page (another local port is "same site" for cookies).
      const ownPage = req.method === 'GET' || (origin !== undefined && allowedHosts().has(origin.replace(/^http:\/\//, '')));
      const bySession = ownPage && sessions.touch(sessionId);

      if (req.method === 'GET' && (url.pathname.startsWith('/assets/') || url.pathname === '/favicon.svg')) return serveFile(res, url.pathname);
      // The page itself needs no session: without one it shows how to get in, not a JSON error.
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) return serveFile(res, '/index.html');
      if (req.method === 'GET' && url.pathname === '/session') return sendJson(res, 200, { ok: true, value: { signedIn: sessions.touch(sessionId) } });
      if (req.method === 'POST' && url.pathname === '/session') {
        if (!ownPage) return send(res, 403, 'Forbidden origin', 'text/plain; charset=utf-8');
        let code: unknown;
        try {
          code = (JSON.parse(await readBody(req)) as { code?: unknown }).code;
        } catch {
          code = undefined;
        }
        const outcome = typeof code === 'string' && code.length <= 100 ? sessions.exchange(code) : ({ ok: false, reason: 'unknown' } as const);
        if (!outcome.ok) {
          log.warn(`one-time address refused (${outcome.reason})`);
          const why = outcome.reason === 'used' ? 'was already used' : outcome.reason === 'expired' ? 'has expired' : 'is not known to this gateway (it may have restarted)';
          return sendJson(res, 401, { ok: false, error: { code: 'refused', message: `This address ${why}: open the gateway from its shortcut, or run "npm run open" on this computer` } });
        }
        log.info('screens session opened');
        return send(res, 200, JSON.stringify({ ok: true, value: { signedIn: true } }), 'application/json; charset=utf-8', {
          'Set-Cookie': `${sessionCookieName(port)}=${outcome.sessionId}; HttpOnly; SameSite=Strict; Path=/`,
        });
      }
      if (req.method === 'POST' && url.pathname === '/session/end') {
        if (!ownPage) return send(res, 403, 'Forbidden origin', 'text/plain; charset=utf-8');
        sessions.end(sessionId);
        return send(res, 200, JSON.stringify({ ok: true, value: { signedIn: false } }), 'application/json; charset=utf-8', {
          'Set-Cookie': `${sessionCookieName(port)}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
        });
      }
      // `npm run open`: the control token (from its 0600 file) buys a new one-time address.
      if (req.method === 'POST' && url.pathname === '/control/one-time-address') {
        if (!byToken) return sendJson(res, 401, { ok: false, error: { code: 'refused', message: 'Missing or wrong control token' } });
        return sendJson(res, 200, { ok: true, value: { url: oneTimeAddress() } });
      }
      if (!byToken && !bySession) return sendJson(res, 401, REFUSED_WITHOUT_SESSION);
      if (req.method === 'GET' && url.pathname === '/api/events') return openEvents(res);
      const method = /^\/api\/([A-Za-z]+)$/.exec(url.pathname)?.[1];
      if (req.method === 'POST' && method) {
        let input: unknown;
        try {
          const body = await readBody(req);
          input = body ? JSON.parse(body) : {};
        } catch {
          return sendJson(res, 400, { ok: false, error: { code: 'invalid-input', message: 'The request body is not JSON' } });
        }
        const result: ApiResult<unknown> = await options.dispatcher.call(method, input);
        return sendJson(res, result.ok ? 200 : STATUS_OF[result.error.code], result);
      }
      return send(res, 404, 'Not found', 'text/plain; charset=utf-8');
    })().catch((error: Error) => {
      log.error('request failed', { error: error.message });
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'internal', message: 'The request failed; the gateway\'s log has the details' } });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    port,
    token,
    origin: `http://127.0.0.1:${port}`,
    oneTimeAddress,
    async close() {
      for (const s of streams) s.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
