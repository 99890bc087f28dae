/**
 * The one contract between the screens and the core: each method's input schema (validated in the core,
 * whatever the transport) and output type, and the events the core pushes. Pure TypeScript, so the
 * renderer, the headless HTTP server and an Electron IPC bridge all share it.
 * Payloads carry research IDs and internal keys; a patient's name appears only in the Studies table's
 * local column and in the doctor's crosswalk look-up.
 */
import { z } from 'zod';
import { GatewaySettings } from './settings';
import type { DestinationCheck } from './destination-check';
import type { DeliveryRecheck, InstanceEvent, InstanceState } from './domain';
import { parseStudyDate } from './search';
import { ImportIdInput, ImportStatusInput, StartImportInput, type ImportProgress } from './import';

// ── What the screens show ────────────────────────────────────────────────────────────────────────────

/** A study's state as one word, derived from its instances. */
export const STUDY_STATES = ['in-progress', 'retrying', 'complete', 'held', 'failed'] as const;
export type StudyState = (typeof STUDY_STATES)[number];

export interface StatusSnapshot {
  intake: {
    listening: boolean;
    aeTitle: string;
    port: number;
    allowedCallingAeTitles: string[];
    /** The last association attempt since start-up (accepted or rejected). */
    lastAssociation?: { at: string; callingAeTitle: string; accepted: boolean; reason?: string };
  };
  destination: {
    configured: boolean;
    url?: string;
    /** The last connection check (refreshed in the background while someone looks). */
    check?: DestinationCheck & { checkedAt: string };
    lastUploadAt?: string;
    /** Instances waiting to be de-identified or uploaded. */
    backlog: number;
    /** Of the backlog, those waiting for a retry after a failed attempt, and the latest reason. */
    retrying: number;
    lastError?: string;
  };
  /** Instances received since local midnight, by how far they got. */
  today: { received: number; deidentified: number; uploaded: number; held: number; failed: number };
  /** Set while the data folder's disk or database refuses writes: work is paused and tried again with a backoff. */
  storage?: { problem: string; since: string; nextAttemptAt: string };
  /** The last hours, oldest first; `hour` is the ISO time the hour starts. */
  hours: Array<{ hour: string; received: number; uploaded: number; failed: number }>;
  /** All instances by state, since the first start. */
  counts: Record<InstanceState, number>;
  now: string;
}

export interface StudySummary {
  /** Internal key of the study (not a DICOM identifier). */
  studyKey: number;
  researchId: string;
  researchStudyUid: string;
  /** Shown locally only, in the Studies table (with the patient ID and accession number). */
  patientName: string;
  patientId: string;
  accessionNumber: string;
  studyDate: string;
  modality: string;
  instances: number;
  /** Instances de-identified (written to the outbox, on their way or delivered). */
  deidentified: number;
  /** Instances delivered: uploaded and confirmed at the research server. */
  uploaded: number;
  failed: number;
  held: number;
  state: StudyState;
  lastError?: string;
  updatedAt: string;
}

export interface StudyInstance {
  instanceId: number;
  researchSopInstanceUid?: string;
  state: InstanceState;
  attempts: number;
  lastError?: string;
  receivedAt: string;
  updatedAt: string;
  sizeBytes: number;
}

export interface StudyDetail {
  study: StudySummary;
  instances: StudyInstance[];
}

export interface HeaderAttribute {
  tag: string;
  keyword: string;
  vr: string;
  value: string;
}

export interface InstanceHeader {
  instanceId: number;
  available: boolean;
  /** Why there is nothing to show (the de-identified file is gone after upload, not yet written…). */
  reason?: string;
  attributes: HeaderAttribute[];
}

export interface InstancePreview {
  instanceId: number;
  available: boolean;
  reason?: string;
  /** A PNG as a data: URL. */
  image?: string;
  width?: number;
  height?: number;
  /** 'deidentified': rendered from the outbox file; 'original': a held instance, from the spool (shown locally only). */
  source?: 'deidentified' | 'original';
}

export interface HeldInstance {
  instanceId: number;
  receivedAt: string;
  reason: string;
  callingAeTitle: string;
  sizeBytes: number;
  /** Refused at intake (unreadable, no UIDs) rather than waiting for a person to look at it. */
  refusedAtIntake: boolean;
  /** When retention deletes it (settings.quarantine), and whether that is within the warning period. */
  expiresAt?: string;
  expiresSoon?: boolean;
}

export interface SettingsView {
  /** The saved settings, with the destination password left out (see destinationPasswordSet). */
  settings: GatewaySettings;
  destinationPasswordSet: boolean;
  /** False when the gateway was started without a settings file: changes cannot be saved. */
  canSave: boolean;
}

export interface SaveSettingsResult {
  view: SettingsView;
  /** What took effect at once ("intake listener restarted on port 11113"). */
  applied: string[];
  /** What takes effect only after a restart of the gateway. */
  needsRestart: string[];
}

export interface DoctorState {
  passwordSet: boolean;
  unlocked: boolean;
}

export interface CrosswalkStudyView {
  studyDate: string;
  accessionNumber: string;
  studyInstanceUid: string;
  researchStudyUid: string;
  modality: string;
}

/** The doctor's look-up answer: the only payload with a patient's identity besides the Studies name column. */
export interface CrosswalkPatientView {
  researchId: string;
  patientId: string;
  issuer: string;
  name: string;
  birthDate: string;
  sex: string;
  studies: CrosswalkStudyView[];
}

export interface CrosswalkExportResult {
  exportId: string;
  fileName: string;
  patients: number;
  rows: number;
  bytes: number;
  ms: number;
}

export interface AuditEntryView {
  id: number;
  at: string;
  actor: string;
  action: string;
  outcome: string;
  detail: string;
  /** The detail for people: reasons in words, research Study UIDs shown as their research IDs (src/shared/audit-words.ts). */
  detailInWords: string;
}

export interface ResendResult {
  queued: number;
  /** Instances whose de-identified file is no longer on this computer, so they cannot be sent again. */
  missing: number;
}

// ── Inputs ───────────────────────────────────────────────────────────────────────────────────────────

const key = z.number({ error: 'Expected a whole number' }).int('Expected a whole number').positive('Expected a positive number');
const page = {
  offset: z.number().int().min(0, 'Offset cannot be negative').default(0),
  limit: z.number().int().min(1, 'Limit is at least 1').max(500, 'Limit is at most 500').default(50),
};
const researchStudyUid = z.string().trim().regex(/^[0-9]+(\.[0-9]+)+$/, 'A research Study Instance UID is digits and dots (2.25.…)').max(64);
const doctorToken = z.string().min(1, 'Unlock the crosswalk first').max(200);
const yyyymmdd = z.string().regex(/^\d{8}$/, 'Write dates as YYYYMMDD');

/** A study date as people type it (2024-02-01, 01.02.2024 or 20240201), passed on in DICOM form (20240201). */
const studyDateInput = z
  .string()
  .trim()
  .max(20, 'Write a date as 2024-02-01, 01.02.2024 or 20240201')
  .transform((text, ctx) => {
    const date = parseStudyDate(text);
    if (date === undefined) ctx.addIssue({ code: 'custom', message: `"${text}" is not a date: write it as 2024-02-01, 01.02.2024 or 20240201` });
    return date ?? '';
  });

export const ListStudiesInput = z
  .strictObject({
    /** Words that must all match: a name (any case, with or without accents), research ID, patient ID, accession number, study date, modality. */
    search: z.string().trim().max(100, 'Search is at most 100 characters').default(''),
    state: z.enum(STUDY_STATES).optional(),
    /** Study dates from … to, inclusive; either may be left out. */
    from: studyDateInput.optional(),
    to: studyDateInput.optional(),
    ...page,
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'The first date is after the last one', path: ['to'] });

export const CrosswalkFilterInput = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('dateRange'), from: yyyymmdd.optional(), to: yyyymmdd.optional() }),
  z.strictObject({ kind: z.literal('researchIds'), researchIds: z.array(z.string().trim().min(1)).min(1, 'Give at least one research ID').max(10_000) }),
]);

export const SaveSettingsInput = z.strictObject({
  settings: GatewaySettings,
  /** The destination password field left empty keeps the saved password, unless this asks to remove it. */
  clearDestinationPassword: z.boolean().default(false),
});

const empty = z.strictObject({});

// ── The methods ──────────────────────────────────────────────────────────────────────────────────────

/** A method: its input schema, and its output type carried as a type only. */
function method<Output>() {
  return <Input extends z.ZodType>(input: Input) => ({ input, output: undefined as unknown as Output });
}

export const api = {
  getStatus: method<StatusSnapshot>()(empty),
  listStudies: method<{ total: number; rows: StudySummary[] }>()(ListStudiesInput),
  getStudy: method<StudyDetail>()(z.strictObject({ studyKey: key })),
  getInstanceHeader: method<InstanceHeader>()(z.strictObject({ instanceId: key })),
  getInstancePreview: method<InstancePreview>()(z.strictObject({ instanceId: key, maxSize: z.number().int().min(32).max(1024).default(384) })),
  listHeld: method<{ total: number; refused: number; rows: HeldInstance[] }>()(z.strictObject(page)),
  releaseHeld: method<{ released: boolean }>()(z.strictObject({ instanceId: key })),
  discardHeld: method<{ discarded: boolean }>()(z.strictObject({ instanceId: key })),
  /** Discards every data set refused at intake on the review list at once (the Review screen confirms with the count). */
  discardRefused: method<{ discarded: number }>()(empty),
  resendStudy: method<ResendResult>()(z.strictObject({ researchStudyUid })),
  resendFailed: method<ResendResult>()(empty),
  /** Asks the research server whether it still holds what was delivered (one study, or all); gone ones are queued again. */
  recheckDelivery: method<DeliveryRecheck>()(z.strictObject({ researchStudyUid: researchStudyUid.optional() })),
  getSettings: method<SettingsView>()(empty),
  saveSettings: method<SaveSettingsResult>()(SaveSettingsInput),
  /** Tests a destination as typed in Settings; an empty password means the saved one. */
  testDestination: method<DestinationCheck>()(z.strictObject({ destination: GatewaySettings.shape.destination.unwrap() })),
  doctorState: method<DoctorState>()(z.strictObject({ token: z.string().max(200).optional() })),
  doctorSetPassword: method<DoctorState>()(z.strictObject({ password: z.string().max(1000), confirmation: z.string().max(1000) })),
  doctorUnlock: method<{ token: string; expiresAt: string }>()(z.strictObject({ password: z.string().max(1000) })),
  doctorLock: method<DoctorState>()(z.strictObject({ token: doctorToken })),
  doctorChangePassword: method<DoctorState>()(z.strictObject({ token: doctorToken, password: z.string().max(1000), confirmation: z.string().max(1000) })),
  crosswalkLookup: method<{ found: CrosswalkPatientView | null }>()(
    z.strictObject({ token: doctorToken, researchId: z.string().trim().min(1, 'Type a research ID').max(64) }),
  ),
  crosswalkExport: method<CrosswalkExportResult>()(
    z.strictObject({
      token: doctorToken,
      password: z.string().max(1000),
      confirmation: z.string().max(1000),
      filter: CrosswalkFilterInput,
      /** xlsx: a spreadsheet for people (typed columns); csv: for machines, with `csvDelimiter` between fields. */
      format: z.enum(['xlsx', 'csv']).default('csv'),
      csvDelimiter: z.enum([',', ';']).default(','),
      /** Leave out patients none of whose instances reached the research server. */
      deliveredOnly: z.boolean().default(false),
      /** Chosen by the screen, so it can match the progress events to its request. */
      exportId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'Export ID is 8–64 letters, digits, - or _'),
    }),
  ),
  /** The encrypted ZIP of a finished export, base64, for the screen to save. */
  crosswalkExportFile: method<{ fileName: string; base64: string }>()(
    z.strictObject({ token: doctorToken, exportId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/) }),
  ),
  listAudit: method<{ total: number; entries: AuditEntryView[] }>()(z.strictObject(page)),
  /** Walks the audit log's hash chain: is every past entry as it was written? */
  verifyAudit: method<{ ok: boolean; entries: number; problem?: string }>()(empty),
  /** The whole audit log with its hashes, to keep a copy elsewhere (CSV or JSON text). */
  exportAudit: method<{ fileName: string; text: string }>()(z.strictObject({ format: z.enum(['csv', 'json']).default('csv') })),
  // Folder / disk / DICOMDIR import (issue 21): imports go through the same spool and pipeline as a C-STORE.
  startImport: method<ImportProgress>()(StartImportInput),
  /** One import (by ID), or the latest imports, newest first. */
  importStatus: method<{ imports: ImportProgress[] }>()(ImportStatusInput),
  pauseImport: method<ImportProgress>()(ImportIdInput),
  resumeImport: method<ImportProgress>()(ImportIdInput),
  cancelImport: method<ImportProgress>()(ImportIdInput),
} as const;

export type Api = typeof api;
export type MethodName = keyof Api;
export type MethodInput<M extends MethodName> = z.input<Api[M]['input']>;
export type ParsedInput<M extends MethodName> = z.output<Api[M]['input']>;
export type MethodOutput<M extends MethodName> = Api[M]['output'];
export const METHOD_NAMES = Object.keys(api) as MethodName[];
export const isMethodName = (name: string): name is MethodName => Object.prototype.hasOwnProperty.call(api, name);

// ── Events ───────────────────────────────────────────────────────────────────────────────────────────

export interface ApiEvents {
  /** An instance changed state. */
  instance: InstanceEvent;
  /** The intake listener or the destination changed (after settings were saved). */
  settings: { savedAt: string };
  exportProgress: { exportId: string; rowsWritten: number; rowsTotal: number };
}
export type EventName = keyof ApiEvents;
export const EVENT_NAMES: readonly EventName[] = ['instance', 'settings', 'exportProgress'];
export interface ApiEventMessage<E extends EventName = EventName> {
  event: E;
  payload: ApiEvents[E];
}

// ── Results and errors ───────────────────────────────────────────────────────────────────────────────

export const API_ERROR_CODES = [
  'unknown-method',
  'invalid-input',
  'not-found',
  'locked',
  'refused',
  'conflict',
  'unavailable',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export interface ApiError {
  code: ApiErrorCode;
  /** One sentence a technologist can act on; never PHI. */
  message: string;
  /** For invalid-input: one problem per field, `path` dotted as in the input ("settings.intake.port"). */
  issues?: Array<{ path: string; message: string }>;
}

export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** What a client throws when the core answers with an error. */
export class ApiCallError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
    this.name = 'ApiCallError';
  }
  get code(): ApiErrorCode {
    return this.error.code;
  }
}

/** The single client the renderer uses; the transport (HTTP + SSE, or Electron IPC) is hidden behind it. */
export type GatewayApi = {
  [M in MethodName]: (input: MethodInput<M>) => Promise<MethodOutput<M>>;
} & {
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
};
