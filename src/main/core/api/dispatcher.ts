import { destinationOrigin, savedPasswordApplies } from '../../../shared/destination-origin';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  api, isMethodName, type ApiError, type ApiEventMessage, type ApiEvents, type ApiResult, type EventName, type MethodName,
  type InstancePreview, type MethodOutput, type ParsedInput, type SettingsView, type StatusSnapshot,
} from '../../../shared/api';
import type { GatewaySettings } from '../../../shared/settings';
import type { DestinationCheck } from '../../../shared/destination-check';
import type { InstanceEvent } from '../../../shared/domain';
import type { Gateway } from '../gateway';
import type { Logger } from '../log';
import { startOfLocalDay } from '../jobs/study-queries';
import { auditDetailInWords } from '../../../shared/audit-words';
import { readHeader, renderThumbnail, PreviewUnavailable } from '../preview';
import { testConnection } from '../upload';
import {
  CrosswalkLocked, DoctorPasswordAlreadySet, DoctorPasswordNotSet, InvalidExportRequest, PasswordsDoNotMatch, UnlockThrottled,
  WeakPassword, WrongPassword,
} from '../doctor';
import { ImportNotFound, ImportRefused } from '../import';
import { importHandlers } from './import';

/** Where saved settings go: the headless runner's JSON file, the desktop app's store. */
export interface SettingsStore {
  /** False when there is nowhere to save (the gateway was started without a settings file). */
  readonly canSave: boolean;
  /** Writes the settings durably and atomically (all or nothing); throws if it cannot. */
  save(settings: GatewaySettings): Promise<void>;
}

export interface DispatcherDeps {
  gateway: Gateway;
  settingsStore: SettingsStore;
  /** Where crosswalk exports are written until the doctor's screen fetches them. */
  exportDir: string;
  logger: Logger;
  /** How often the Status screen's destination check may run (ms). */
  destinationCheckIntervalMs?: number;
  now?: () => Date;
}

export interface ApiDispatcher {
  /** Validates `input` with the contract's schema for `method`, runs it, and answers without throwing. */
  call(method: string, input: unknown): Promise<ApiResult<unknown>>;
  subscribe(listener: (message: ApiEventMessage) => void): () => void;
  close(): void;
}

/** Something asked for does not exist (a study key, an instance, an export). */
export class NotFound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFound';
  }
}

/** A request the gateway refuses as it stands (settings that cannot be applied, nothing to save to). */
export class Refused extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'Refused';
  }
}

const REFUSALS = [DoctorPasswordAlreadySet, DoctorPasswordNotSet, InvalidExportRequest, PasswordsDoNotMatch, UnlockThrottled, WeakPassword, WrongPassword, Refused, ImportRefused];

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof z.ZodError) {
    return {
      code: 'invalid-input',
      message: error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '),
      issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    };
  }
  if (error instanceof CrosswalkLocked) return { code: 'locked', message: error.message };
  if (error instanceof NotFound || error instanceof ImportNotFound) return { code: 'not-found', message: error.message };
  if (REFUSALS.some((kind) => error instanceof kind)) return { code: 'refused', message: (error as Error).message };
  return undefined;
}

/** The settings as the screens get them: the destination password is never sent back, only whether one is set. */
export function settingsView(settings: GatewaySettings, canSave: boolean): SettingsView {
  const destination = settings.destination ? { ...settings.destination, password: '' } : undefined;
  return { settings: { ...settings, destination }, destinationPasswordSet: Boolean(settings.destination?.password), canSave };
}

const sectionsChanged = (a: GatewaySettings, b: GatewaySettings): string[] =>
  (Object.keys(b) as Array<keyof GatewaySettings>).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));

type Handlers = { [M in MethodName]: (input: ParsedInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

/**
 * The core side of the screens' API, the same for every transport: each call's input is parsed with the
 * contract's schema (the renderer is not trusted), then handled by the gateway's services.
 */
export function createDispatcher(deps: DispatcherDeps): ApiDispatcher {
  const { gateway, settingsStore, logger } = deps;
  const log = logger.child('api');
  const now = deps.now ?? (() => new Date());
  const checkInterval = deps.destinationCheckIntervalMs ?? 30_000;
  const listeners = new Set<(message: ApiEventMessage) => void>();
  const exports = new Map<string, string>();
  // Exports not fetched before a restart can no longer be asked for (the list is in memory): remove them.
  for (const name of fs.existsSync(deps.exportDir) ? fs.readdirSync(deps.exportDir) : []) {
    if (/^crosswalk-.*\.zip$/.test(name)) fs.rmSync(path.join(deps.exportDir, name), { force: true });
  }
  let lastCheck: (DestinationCheck & { checkedAt: string }) | undefined;
  // Rendering a full-size mammogram takes a few hundred ms on this thread: one at a time, and each kept a while.
  const previews = new Map<string, Promise<InstancePreview>>();
  let rendering: Promise<unknown> = Promise.resolve();
  const MAX_PREVIEWS = 200;
  // Saves one after another: two screens saving at once must not restart the listener over each other.
  let saving: Promise<unknown> = Promise.resolve();
  let checking: Promise<void> | undefined;

  const emit = <E extends EventName>(event: E, payload: ApiEvents[E]): void => {
    for (const listener of listeners) listener({ event, payload } as ApiEventMessage);
  };
  const audit = (action: string, detail: string, outcome: 'success' | 'failure' | 'refused' = 'success'): void => {
    gateway.audit().append({ actor: 'technologist', action, outcome, detail });
  };

  /** Runs the destination check in the background, at most every `checkInterval` (or now, when `force`). */
  const refreshCheck = (force = false): void => {
    const destination = gateway.settings().destination;
    if (!destination) {
      lastCheck = undefined;
      return;
    }
    if (checking || (!force && lastCheck && now().getTime() - Date.parse(lastCheck.checkedAt) < checkInterval)) return;
    checking = testConnection(destination)
      .then((check) => void (lastCheck = { ...check, checkedAt: now().toISOString() }))
      .catch((error: Error) => {
        lastCheck = { ok: false, problem: { code: 'unexpected-answer', message: `The check could not run: ${error.message}` }, warnings: [], checkedAt: now().toISOString() };
      })
      .finally(() => (checking = undefined));
  };

  const onInstance = (e: InstanceEvent): void => {
    // A failed upload attempt is the first sign the research server is away: check again now.
    if (e.error && e.state === 'deidentified') refreshCheck(true);
    emit('instance', e);
  };
  gateway.on('instance', onInstance);

  const requireStudy = (researchStudyUid: string): number => {
    const key = gateway.queries().studyKeyOf(researchStudyUid);
    if (key === undefined) throw new NotFound('No study with this research Study Instance UID on this gateway');
    return key;
  };

  const saveSettings = async ({ settings, clearDestinationPassword }: ParsedInput<'saveSettings'>): Promise<MethodOutput<'saveSettings'>> => {
    if (!settingsStore.canSave) throw new Refused('The gateway was started without a settings file (--settings): there is nowhere to save changes');
    const previous = gateway.settings();
    const next: GatewaySettings = structuredClone(settings);
    // An empty password field means "unchanged", but only for the server it was saved for: never sent elsewhere.
    if (next.destination && next.destination.password === '' && !clearDestinationPassword && previous.destination?.password) {
      if (!savedPasswordApplies(previous.destination, next.destination)) {
        throw new Refused(`The destination is now ${destinationOrigin(next.destination) ?? 'a different server'}, not ${destinationOrigin(previous.destination)}: type its password (the saved one is sent only to the server it was saved for), or tick "Remove the saved password"`);
      }
      next.destination.password = previous.destination.password;
    }
    let outcome: { applied: string[]; needsRestart: string[] };
    try {
      outcome = await gateway.applySettings(next);
    } catch (error) {
      audit('settings.change', `not applied: ${(error as Error).message}`, 'failure');
      throw new Refused((error as Error).message, { cause: error });
    }
    try {
      await settingsStore.save(next);
    } catch (error) {
      // Not saved: go back to what the file says, so a restart brings no surprise.
      await gateway.applySettings(previous).catch(() => undefined);
      throw new Refused(`The settings could not be saved, nothing changed: ${(error as Error).message}`, { cause: error });
    }
    const changed = sectionsChanged(previous, next);
    audit('settings.change', changed.length ? `changed: ${changed.join(', ')}` : 'saved unchanged');
    log.info(`settings saved${changed.length ? `: ${changed.join(', ')} changed` : ' (unchanged)'}`);
    refreshCheck(true);
    emit('settings', { savedAt: now().toISOString() });
    return { view: settingsView(next, true), ...outcome };
  };

  const handlers: Handlers = {
    ...importHandlers(gateway),
    getStatus() {
      refreshCheck();
      const settings = gateway.settings();
      const q = gateway.queries();
      const intake = gateway.intakeStatus();
      const at = now();
      const backlog = q.backlog();
      const snapshot: StatusSnapshot = {
        intake: {
          listening: intake.listening,
          aeTitle: settings.intake.aeTitle,
          port: intake.port,
          allowedCallingAeTitles: settings.intake.allowedCallingAeTitles,
          lastAssociation: intake.lastAssociation,
        },
        destination: {
          configured: Boolean(settings.destination),
          url: settings.destination
            ? settings.destination.type === 'dimse'
              ? `dicom://${settings.destination.calledAeTitle}@${settings.destination.host}:${settings.destination.port}`
              : settings.destination.url
            : undefined,
          check: lastCheck,
          lastUploadAt: q.lastUploadAt(),
          backlog: backlog.backlog,
          retrying: backlog.retrying,
          lastError: backlog.lastError,
        },
        today: q.countsSince(startOfLocalDay(at)),
        hours: q.hourly(at, 12),
        ...storageOf(gateway.storageProblem()),
        counts: gateway.counts(),
        now: at.toISOString(),
      };
      return snapshot;
    },
    listStudies: (input) => gateway.queries().listStudies(input),
    getStudy({ studyKey }) {
      const q = gateway.queries();
      const study = q.study(studyKey);
      if (!study) throw new NotFound(`No study with key ${studyKey}`);
      return { study, instances: q.instancesOf(studyKey) };
    },
    getInstanceHeader({ instanceId }) {
      const files = gateway.queries().instanceFiles(instanceId);
      if (!files) throw new NotFound(`No instance with key ${instanceId}`);
      const unavailable = (reason: string) => ({ instanceId, available: false, reason, attributes: [] });
      if (files.state === 'held' || files.state === 'discarded') return unavailable('This instance was not de-identified (held for review): there is no de-identified header to show');
      if (!files.outboxPath) return unavailable('Not de-identified yet');
      if (!fs.existsSync(files.outboxPath)) return unavailable('The de-identified file is no longer on this computer (deleted after upload when its retention ended)');
      return { instanceId, available: true, attributes: readHeader(files.outboxPath) };
    },
    async getInstancePreview({ instanceId, maxSize }) {
      const files = gateway.queries().instanceFiles(instanceId);
      if (!files) throw new NotFound(`No instance with key ${instanceId}`);
      // A held instance is shown from its original: looking at its pixels is why it was held.
      const held = files.state === 'held';
      const file = held ? files.spoolPath : files.outboxPath;
      const source = held ? 'original' : 'deidentified';
      if (!file) return { instanceId, available: false, reason: 'Not de-identified yet' };
      if (!fs.existsSync(file)) return { instanceId, available: false, reason: 'The file is no longer on this computer (deleted after upload when its retention ended)' };
      const cacheKey = `${file}:${fs.statSync(file).mtimeMs}:${maxSize}`;
      let preview = previews.get(cacheKey);
      if (!preview) {
        preview = rendering.then(async (): Promise<InstancePreview> => {
          try {
            const t = await renderThumbnail(file, maxSize, held ? (f) => gateway.readOriginal(f) : undefined);
            return { instanceId, available: true, image: `data:image/png;base64,${t.png.toString('base64')}`, width: t.width, height: t.height, source };
          } catch (error) {
            if (error instanceof PreviewUnavailable) return { instanceId, available: false, reason: error.message };
            throw error;
          }
        });
        rendering = preview.catch(() => undefined);
        previews.set(cacheKey, preview);
        preview.catch(() => previews.delete(cacheKey));
        if (previews.size > MAX_PREVIEWS) previews.delete(previews.keys().next().value!);
      }
      return preview;
    },
    listHeld(page) {
      const { refusedDays, heldDays, warnDays } = gateway.settings().quarantine;
      const day = 86_400_000;
      const at = now().getTime();
      const held = gateway.queries().held(page);
      const rows = held.rows.map(({ heldAt, ...row }) => {
        if (heldAt === null) return row;
        const expires = heldAt + (row.refusedAtIntake ? refusedDays : heldDays) * day;
        return { ...row, expiresAt: new Date(expires).toISOString(), expiresSoon: expires - at <= warnDays * day };
      });
      return { total: held.total, refused: held.refused, rows };
    },
    releaseHeld({ instanceId }) {
      const released = gateway.releaseHeld(instanceId);
      audit('review.release', `instance ${instanceId}`, released ? 'success' : 'refused');
      return { released };
    },
    async discardHeld({ instanceId }) {
      const discarded = await gateway.discardHeld(instanceId);
      audit('review.discard', `instance ${instanceId}`, discarded ? 'success' : 'refused');
      return { discarded };
    },
    async discardRefused() {
      const discarded = await gateway.discardRefused();
      audit('review.discard-refused', `${discarded} data set(s) refused at intake`);
      return { discarded };
    },
    resendStudy({ researchStudyUid }) {
      const studyKey = requireStudy(researchStudyUid);
      // Failed instances go again, waiting retries go now; a study with neither is a completed one sent again.
      let queued = gateway.resendFailed({ researchStudyUid }) + gateway.retryNow(researchStudyUid);
      let missing = 0;
      if (queued === 0 && gateway.queries().study(studyKey)?.state === 'complete') ({ queued, missing } = gateway.resendStudy(researchStudyUid));
      audit('instance.resend', `study ${researchStudyUid}: ${queued} queued, ${missing} without a file`);
      return { queued, missing };
    },
    resendFailed() {
      const queued = gateway.resendFailed() + gateway.retryNow();
      audit('instance.resend', `all failed: ${queued} queued`);
      return { queued, missing: 0 };
    },
    async recheckDelivery({ researchStudyUid }) {
      if (researchStudyUid !== undefined) requireStudy(researchStudyUid);
      const r = await gateway.recheckDelivery(researchStudyUid);
      audit('delivery.recheck', `${researchStudyUid ? `study ${researchStudyUid}` : 'all'}: ${r.checked} checked, ${r.present} present, ${r.requeued} queued again, ${r.missing} missing, ${r.mismatched} different`);
      return r;
    },
    getSettings: () => settingsView(gateway.settings(), settingsStore.canSave),
    saveSettings(input) {
      const next = saving.then(() => saveSettings(input));
      saving = next.catch(() => undefined);
      return next;
    },
    async testDestination({ destination }) {
      const saved = gateway.settings().destination;
      // The saved password only to the scheme, host and port it was saved for; another server is tested without it.
      if (destination.password !== '') return testConnection(destination);
      if (saved?.password && savedPasswordApplies(saved, destination)) return testConnection({ ...destination, password: saved.password });
      // No password for this server: no credentials at all, not even the user name.
      return testConnection({ ...destination, username: '', password: '' });
    },
    doctorState({ token }) {
      const doctor = gateway.doctor();
      return { passwordSet: doctor.hasPassword(), unlocked: doctor.isUnlocked(token) };
    },
    async doctorSetPassword({ password, confirmation }) {
      const doctor = gateway.doctor();
      await doctor.setPassword(password, confirmation);
      return { passwordSet: true, unlocked: false };
    },
    async doctorUnlock({ password }) {
      const session = await gateway.doctor().unlock(password);
      return { token: session.token, expiresAt: session.expiresAt.toISOString() };
    },
    async doctorChangePassword({ token, password, confirmation }) {
      const doctor = gateway.doctor();
      await doctor.changePassword(token, password, confirmation);
      return { passwordSet: true, unlocked: doctor.isUnlocked(token) };
    },
    doctorLock({ token }) {
      const doctor = gateway.doctor();
      doctor.lock(token);
      return { passwordSet: doctor.hasPassword(), unlocked: false };
    },
    crosswalkLookup({ token, researchId }) {
      const query = /^[0-9]+(\.[0-9]+)+$/.test(researchId) ? { researchStudyUid: researchId } : { researchId };
      const found = gateway.doctor().lookup(token, query);
      if (!found) return { found: null };
      return {
        found: {
          researchId: found.researchId, patientId: found.patientId, issuer: found.issuer, name: found.name, birthDate: found.birthDate, sex: found.sex,
          studies: found.studies.map((s) => ({
            studyDate: s.studyDate, accessionNumber: s.accessionNumber, studyInstanceUid: s.studyInstanceUid, researchStudyUid: s.researchStudyUid, modality: s.modality,
          })),
        },
      };
    },
    async crosswalkExport({ token, password, confirmation, filter, format, csvDelimiter, deliveredOnly, exportId }) {
      if (exports.has(exportId)) throw new Refused('This export was already made: start a new one');
      await fs.promises.mkdir(deps.exportDir, { recursive: true, mode: 0o700 });
      const day = now().toISOString().slice(0, 10);
      const fileName = `crosswalk-${gateway.settings().site.code}-${day}-${exportId.slice(0, 8)}.zip`;
      const file = path.join(deps.exportDir, fileName);
      let shown = -1;
      const result = await gateway.doctor().export(token, {
        file, password, confirmation, filter, deliveredOnly,
        format: format === 'xlsx' ? { kind: 'xlsx' } : { kind: 'csv', delimiter: csvDelimiter },
        onProgress: ({ rowsWritten, rowsTotal }) => {
          // About a hundred progress events per export, whatever its size.
          const step = rowsTotal ? Math.floor((100 * rowsWritten) / rowsTotal) : 100;
          if (step === shown) return;
          shown = step;
          emit('exportProgress', { exportId, rowsWritten, rowsTotal });
        },
      });
      exports.set(exportId, file);
      return { exportId, fileName, patients: result.patients, rows: result.rows, bytes: result.bytes, ms: result.ms };
    },
    async crosswalkExportFile({ token, exportId }) {
      const doctor = gateway.doctor();
      if (!doctor.isUnlocked(token)) throw new CrosswalkLocked();
      const file = exports.get(exportId);
      if (!file || !fs.existsSync(file)) throw new NotFound('This export is not on the gateway any more: export again');
      const base64 = (await fs.promises.readFile(file)).toString('base64');
      // Fetched once, then gone: an encrypted copy of the crosswalk should not linger on the gateway.
      exports.delete(exportId);
      await fs.promises.rm(file, { force: true });
      gateway.audit().append({ actor: 'doctor', action: 'crosswalk.export.fetch', outcome: 'success', detail: path.basename(file) });
      return { fileName: path.basename(file), base64 };
    },
    verifyAudit() {
      const result = gateway.audit().verify();
      return { ok: result.ok, entries: result.entries, problem: result.problem };
    },
    exportAudit({ format }) {
      const text = gateway.audit().export(format);
      gateway.audit().append({ actor: 'technologist', action: 'audit.export', outcome: 'success', detail: format });
      return { fileName: `audit-${gateway.settings().site.code}-${now().toISOString().slice(0, 10)}.${format}`, text };
    },
    listAudit({ offset, limit }) {
      const log = gateway.audit();
      const q = gateway.queries();
      const researchIdOf = (uid: string): string | undefined => {
        const key = q.studyKeyOf(uid);
        return key === undefined ? undefined : q.study(key)?.researchId;
      };
      return {
        total: log.count(),
        entries: log.list({ offset, limit }).map((e) => ({
          id: e.id, at: e.at, actor: e.actor, action: e.action, outcome: e.outcome, detail: e.detail, detailInWords: auditDetailInWords(e.detail, researchIdOf),
        })),
      };
    },
  };

  return {
    async call(method, input) {
      if (!isMethodName(method)) return { ok: false, error: { code: 'unknown-method', message: `No API method named "${method.slice(0, 60)}"` } };
      const parsed = api[method].input.safeParse(input ?? {});
      if (!parsed.success) return { ok: false, error: toApiError(parsed.error)! };
      try {
        const handler = handlers[method] as (input: unknown) => unknown;
        return { ok: true, value: await handler(parsed.data) };
      } catch (error) {
        const known = toApiError(error);
        if (known) return { ok: false, error: known };
        log.error(`${method} failed`, { error: (error as Error).message });
        return { ok: false, error: { code: 'internal', message: `The gateway could not do this (${(error as Error).name}); the gateway's log has the details` } };
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      gateway.off('instance', onInstance);
      listeners.clear();
    },
  };
}

/** The disk or database trouble for the Status answer, when there is one. */
function storageOf(problem: { error: string; since: string; nextAttemptAt: string } | undefined): Pick<StatusSnapshot, 'storage'> {
  return problem ? { storage: { problem: `The data folder's disk cannot take writes (${problem.error}): work is paused and tried again`, since: problem.since, nextAttemptAt: problem.nextAttemptAt } } : {};
}
