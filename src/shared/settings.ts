import { z } from 'zod';

const aeTitle = z
  .string()
  .trim()
  .min(1, 'AE title must not be empty')
  .max(16, 'AE title is at most 16 characters')
  .regex(/^[\x20-\x7e]+$/, 'AE title may use printable ASCII only')
  .refine((s) => !s.includes('\\'), 'AE title may not contain a backslash');

const dayOfMonth = z.number().int().min(1, 'Day must be 1–28').max(28, 'Day must be 1–28 (so it exists in every month)');

export const IntakeSettings = z.strictObject({
  aeTitle: aeTitle.default('DEID_GW'),
  port: z.number().int().min(1).max(65535).default(11112),
  /** Empty: any calling AE title may connect (the called AE title must still match). */
  allowedCallingAeTitles: z.array(aeTitle).default([]),
});

export const DestinationSettings = z.strictObject({
  url: z
    .string()
    .url('Destination URL must be a full URL such as https://research.example.org:8042')
    .refine((u) => /^https?:\/\//.test(u), 'Destination URL must start with http:// or https://')
    // A password in the URL would be logged and shown on Status, and sent wherever the URL is changed to.
    .refine((u) => !/^https?:\/\/[^/?#]*@/.test(u), 'Destination URL must not contain a user name or password (https://user:pass@host): put them in the user and password fields'),
  username: z.string().default(''),
  password: z.string().default(''),
  /** Parallel uploads; Orthanc ingests faster with a few in flight. */
  concurrency: z.number().int().min(1).max(16).default(2),
  /**
   * orthanc-rest: POST /instances to `url`; dicomweb: STOW-RS to `url` (the DICOMweb root, e.g. .../dicom-web);
   * dimse: C-STORE to `host`:`port` as `callingAeTitle` to `calledAeTitle` (`url` then unused, may be omitted).
   */
  type: z.enum(['orthanc-rest', 'dicomweb', 'dimse']).default('orthanc-rest'),
  /** PEM file of the certificate authority to trust for an https destination (a site's own CA). */
  caFile: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  callingAeTitle: aeTitle.optional(),
  calledAeTitle: aeTitle.optional(),
});

/** A destination as the settings file gives it: each type with what it needs. */
const CheckedDestinationSettings = DestinationSettings.extend({ url: DestinationSettings.shape.url.optional() }).superRefine((d, ctx) => {
  if (d.type !== 'dimse' && !d.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `Destination URL is needed for type ${d.type}` });
  if (d.type === 'dimse') {
    for (const key of ['host', 'port', 'calledAeTitle'] as const) {
      if (d[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is needed for a DICOM (dimse) destination` });
    }
  }
});

/** What the gateway may take on before it refuses more (C-STORE 0xA700, association rejected). */
export const LimitSettings = z.strictObject({
  /** Bytes of received instances not yet uploaded that the spool may hold; past it, C-STORE answers 0xA700. */
  spoolCapBytes: z.number().int().min(1).default(20 * 1024 ** 3),
  /** Free space the data folder's disk must keep; below it, C-STORE answers 0xA700. */
  minFreeBytes: z.number().int().min(0).default(2 * 1024 ** 3),
  /** Associations served at once; more are rejected as "local limit exceeded" (the sender retries). */
  maxAssociations: z.number().int().min(1).max(64).default(8),
  /** Largest PDU the gateway announces and accepts, in bytes. */
  maxPduBytes: z.number().int().min(4096).max(16 * 1024 ** 2).default(256 * 1024),
  /** An association silent for this long is aborted. */
  idleTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
  // What one received instance may cost (memory bombs); past any of them C-STORE answers 0xA700 with the reason.
  /** Bytes a Deflated Explicit VR Little Endian data set may inflate to (inflated to disk as a stream). */
  maxInflatedBytes: z.number().int().min(1024 ** 2).max(4 * 1024 ** 3).default(256 * 1024 ** 2),
  /** Attributes per instance at every depth, each sequence item and pixel-data fragment counted as one. */
  maxElementsPerInstance: z.number().int().min(1000).max(10_000_000).default(200_000),
  /** Bytes of attribute values held in memory per instance; binary values of 64 KB or more stay on disk and do not count. */
  maxInMemoryValueBytes: z.number().int().min(1024 ** 2).max(1024 ** 3).default(64 * 1024 ** 2),
  /** Off: Deflated Explicit VR Little Endian is not accepted at association, so senders must offer another syntax. */
  acceptDeflatedTransferSyntax: z.boolean().default(true),
  // Slow senders (issue 15): deadlines a sender cannot stretch by trickling bytes.
  /** A PDU begun must arrive in full within this, however many bytes trickle in meanwhile. */
  pduTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
  /** After its first idle timeout, an instance must average at least this rate, in bytes per second (0: no floor). */
  minTransferBytesPerSecond: z.number().int().min(0).default(32 * 1024),
});

export const BirthDateRule = z.strictObject({
  /** What survives of the real birth date. */
  keep: z.enum(['year', 'month']).default('month'),
  /** The day of the month written in place of the real one. */
  day: dayOfMonth.default(15),
  /** With keep "year": the month written in place of the real one. */
  month: z.number().int().min(1).max(12).default(7),
});

/** Study, series, acquisition and content dates: kept, truncated like the birth date, or shifted per patient. */
export const StudyDateRule = z.strictObject({
  keep: z.enum(['all', 'month', 'year', 'shift']).default('all'),
  day: dayOfMonth.default(15),
  month: z.number().int().min(1).max(12).default(7),
  /** With keep "shift": each patient's dates move by a random whole number of days within ±this. */
  maxShiftDays: z.number().int().min(1).max(3650).default(365),
});

/** One private attribute that Retain Safe Private may keep: its block's creator and "(gggg,xxee)". */
export const SafePrivateAttribute = z.strictObject({
  creator: z.string().trim().min(1, 'Private creator must not be empty'),
  tag: z
    .string()
    .regex(/^\([0-9A-Fa-f]{3}[13579BbDdFf],[xX]{2}[0-9A-Fa-f]{2}\)$/, 'Private tag is written "(0019,xx10)": an odd group, xx, the element byte'),
});

export const DeidSettings = z.strictObject({
  birthDate: BirthDateRule.default({ keep: 'month', day: 15, month: 7 }),
  retainPatientCharacteristics: z.boolean().default(true),
  studyDates: StudyDateRule.default({ keep: 'all', day: 15, month: 7, maxShiftDays: 365 }),
  retainDeviceIdentity: z.boolean().default(false),
  retainInstitutionIdentity: z.boolean().default(false),
  retainUids: z.boolean().default(false),
  retainSafePrivate: z
    .strictObject({ enabled: z.boolean().default(false), allowList: z.array(SafePrivateAttribute).default([]) })
    .default({ enabled: false, allowList: [] }),
  cleanDescriptors: z.boolean().default(true),
  /** Modalities whose instances are held for review when Burned In Annotation is absent. */
  burnedInModalities: z.array(z.string().trim().regex(/^[A-Z0-9_ ]{1,16}$/, 'Modality is a DICOM code such as US')).default(['US', 'OT', 'SC', 'XC', 'ES', 'DOC']),
  // Encapsulated documents (issue 16):
  /** Encapsulated PDF, CDA, STL, OBJ, MTL and any instance with an Encapsulated Document are held for review unless true. */
  allowEncapsulatedDocuments: z.boolean().default(false),
});

/** A rectangle in pixels of the image, x1 and y1 exclusive. */
export const PixelRegion = z
  .strictObject({ x0: z.number().int().min(0), y0: z.number().int().min(0), x1: z.number().int().min(1), y1: z.number().int().min(1) })
  .refine((r) => r.x1 > r.x0 && r.y1 > r.y0, 'A region needs x1 > x0 and y1 > y0');

/**
 * Where a device always writes identifying text (CTP's idea of pixel rules by device signature, kept as data): images
 * whose header matches every field given have these regions blacked out whatever OCR reads.
 */
export const DeviceRedactionRule = z.strictObject({
  /** What the rule is for, shown in Settings and the log. */
  name: z.string().trim().min(1).max(120),
  manufacturer: z.string().trim().min(1).optional(),
  model: z.string().trim().min(1).optional(),
  sopClassUid: z.string().regex(/^[0-9.]{1,64}$/).optional(),
  rows: z.number().int().min(1).optional(),
  columns: z.number().int().min(1).optional(),
  regions: z.array(PixelRegion).min(1),
});

// Burned-in text screening (issue 19): every image's pixels are read locally before it may be uploaded.
export const ScreeningSettings = z.strictObject({
  /** Off: only Burned In Annotation (and burnedInModalities) decide, as before screening existed. */
  enabled: z.boolean().default(true),
  /** SOP Class UIDs to screen; empty: every instance with pixel data (MG, DBT and all other images). */
  sopClasses: z.array(z.string().regex(/^[0-9.]{1,64}$/, 'A SOP Class UID is digits and dots')).default([]),
  /** Readable text that is neither identifying nor a laterality/view marker: blacked out, held for review, or kept. */
  otherText: z.enum(['redact', 'hold', 'keep']).default('redact'),
  /** Images that say Burned In Annotation YES: screened and redacted like the others, then held for review or sent. */
  burnedInAnnotationYes: z.enum(['hold', 'release']).default('hold'),
  /** Multi-frame objects with more frames are screened on this many, spread from first to last. */
  maxFrames: z.number().int().min(1).max(512).default(16),
  /** Regions blacked out on every image of a device, whatever OCR finds (resources/screening/device-rules.example.json). */
  deviceRules: z.array(DeviceRedactionRule).default([]),
});

// Residual check (issue 16): values that cannot name a site, because the gateway or earlier anonymizers write them.
const NEVER_SITE_CODES = new Set(['ANON', 'ANONYMIZ', 'NONE', 'NULL', 'UNKNOWN', 'REMOVED', 'YES', 'NO', 'DCM', 'LABEL', 'MODIFIED', 'NA', 'DUMMY']);

export const SiteSettings = z.strictObject({
  /** Prefix of every research ID this gateway issues. */
  code: z
    .string()
    .regex(/^[A-Z0-9]{2,8}$/, 'Site code is 2–8 capital letters or digits')
    // Residual check (issue 16): the site code is the gateway's own value, never counted as a leak, so it must
    // never be able to equal a patient's value: digits alone can be a birth date, an ID or an accession number.
    .refine((code) => /[A-Z]/.test(code), 'Site code needs at least one letter: a code of digits alone could equal a patient\'s birth date, ID or accession number, which the de-identified files would then carry unchecked')
    .refine((code) => !NEVER_SITE_CODES.has(code), 'Site code must not be a placeholder or a value the gateway writes itself (ANON, NONE, UNKNOWN, YES, DCM…): researchers could not tell the site from an emptied value')
    .default('SITE'),
});

/** How long files stay on disk after the research server has the instance; 0 deletes them at once. */
export const RetentionSettings = z.strictObject({
  /** Spool originals (identifiable, sealed on disk): keep as short as the clinic allows. */
  spoolHours: z.number().min(0).max(24 * 365).default(0),
  /** De-identified outbox files (no PHI): kept a week by default, so a completed study can be re-sent. */
  outboxHours: z.number().min(0).max(24 * 365).default(168),
});

export const DoctorSettings = z.strictObject({
  /** How long an unlock lasts before look-up and export need the doctor password again. */
  sessionMinutes: z.number().int().min(1).max(240).default(10),
});

// Quarantine (disk full, quarantine and duplicates): how long held data is kept, and how much one sender may have refused.
export const QuarantineSettings = z.strictObject({
  /** Data sets refused at intake (unreadable, no UIDs): deleted this many days after they came. */
  refusedDays: z.number().min(0).max(365).default(7),
  /** Originals held for a person to look at (burned-in text, residual identifying data): deleted after this many days. */
  heldDays: z.number().min(0).max(365).default(30),
  /** The Review list warns this many days before a held original is deleted. */
  warnDays: z.number().min(0).max(365).default(3),
  /** Refused data sets kept per calling AE title and minute; past it they are refused without being kept (0xA700). */
  refusalsPerMinute: z.number().int().min(1).max(10_000).default(20),
});

// Sessions and secrets (privacy): the screens' fixed address, so a bookmark keeps working across restarts.
export const UiSettings = z.strictObject({
  /** The screens on http://127.0.0.1:PORT; if it is taken, the runner says so and uses a free port. */
  port: z.number().int().min(1).max(65535).default(11180),
});

// Folder / disk / DICOMDIR import (issue 21): how hard an import may push, so live modality traffic comes first.
export const ImportSettings = z.strictObject({
  /** Megabytes per second an import may read from the folder into the spool; 0: no limit. */
  maxMegabytesPerSecond: z.number().min(0).max(100_000).default(0),
  /** Files copied at once (across all imports). */
  concurrency: z.number().int().min(1).max(16).default(2),
  /** Imported instances waiting for de-identification at most: a modality's instance is never queued behind a whole archive. */
  maxQueuedInstances: z.number().int().min(1).max(1000).default(16),
  /** Share of limits.spoolCapBytes imports may fill; the rest is kept for C-STOREs. */
  maxSpoolShare: z.number().min(0.05).max(0.9).default(0.5),
});
export type ImportSettings = z.infer<typeof ImportSettings>;

export const GatewaySettings = z.strictObject({
  site: SiteSettings.default({ code: 'SITE' }),
  intake: IntakeSettings.default({ aeTitle: 'DEID_GW', port: 11112, allowedCallingAeTitles: [] }),
  /** Absent: studies are de-identified and wait in the outbox until a destination is set. */
  destination: CheckedDestinationSettings.optional(),
  deid: DeidSettings.default({
    birthDate: { keep: 'month', day: 15, month: 7 },
    retainPatientCharacteristics: true,
    studyDates: { keep: 'all', day: 15, month: 7, maxShiftDays: 365 },
    retainDeviceIdentity: false,
    retainInstitutionIdentity: false,
    retainUids: false,
    retainSafePrivate: { enabled: false, allowList: [] },
    cleanDescriptors: true,
    burnedInModalities: ['US', 'OT', 'SC', 'XC', 'ES', 'DOC'],
    allowEncapsulatedDocuments: false,
  }),
  retention: RetentionSettings.default({ spoolHours: 0, outboxHours: 168 }),
  doctor: DoctorSettings.default({ sessionMinutes: 10 }),
  limits: LimitSettings.prefault({}),
  screening: ScreeningSettings.prefault({}),
  quarantine: QuarantineSettings.prefault({}),
  ui: UiSettings.default({ port: 11180 }),
  import: ImportSettings.prefault({}),
});

export type GatewaySettings = z.infer<typeof GatewaySettings>;
export type DestinationSettings = z.infer<typeof CheckedDestinationSettings>;
export type LimitSettings = z.infer<typeof LimitSettings>;
export type ScreeningSettings = z.infer<typeof ScreeningSettings>;
export type QuarantineSettings = z.infer<typeof QuarantineSettings>;
export type DeviceRedactionRule = z.infer<typeof DeviceRedactionRule>;
export type DeidSettings = z.infer<typeof DeidSettings>;
export type BirthDateRule = z.infer<typeof BirthDateRule>;
export type RetentionSettings = z.infer<typeof RetentionSettings>;
export type DoctorSettings = z.infer<typeof DoctorSettings>;
export type StudyDateRule = z.infer<typeof StudyDateRule>;

/** Turns a zod failure into one line per problem, naming the setting: "intake.port: ...". */
export function describeSettingsProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
