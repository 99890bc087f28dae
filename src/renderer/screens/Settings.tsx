import { useEffect, useMemo, useState, type ChangeEvent, type ReactNode } from 'react';
import { ApiCallError, type SaveSettingsResult, type SettingsView } from '../../shared/api';
import { GatewaySettings } from '../../shared/settings';
import { applyBirthDateRule, applyStudyDateRule } from '../../shared/dates';
import type { DestinationCheck } from '../../shared/destination-check';
import { errorText, formatDate, leaveGuard, useApi } from '../hooks';

type Draft = GatewaySettings;
type Destination = NonNullable<Draft['destination']>;
const NEW_DESTINATION: Destination = { type: 'orthanc-rest', url: '', username: '', password: '', concurrency: 2 };

/** A copy of `obj` with the value at `path` replaced. */
function setIn<T>(obj: T, path: string[], value: unknown): T {
  const copy = structuredClone(obj) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path.at(-1)!] = value;
  return copy as T;
}

// Fields that may be absent: emptied, they are left out rather than saved as "".
const OPTIONAL = new Set(['caFile', 'host', 'callingAeTitle', 'calledAeTitle', 'port']);
const list = (text: string): string[] => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
const num = (text: string): number => (text.trim() === '' ? Number.NaN : Number(text));
const shown = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '' : String(n));

function Field({ id, label, error, hint, children }: { id: string; label: string; error?: string; hint?: string; children: ReactNode }) {
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <small id={`${id}-hint`} className="hint">{hint}</small>}
      {error && <small id={`${id}-error`} className="error" role="alert" data-testid={`error-${id}`}>{error}</small>}
    </div>
  );
}

export function SettingsScreen() {
  const api = useApi();
  const [view, setView] = useState<SettingsView | undefined>(undefined);
  const [draft, setDraft] = useState<Draft | undefined>(undefined);
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [clearPassword, setClearPassword] = useState(false);
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<SaveSettingsResult | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [check, setCheck] = useState<DestinationCheck | 'running' | string | undefined>(undefined);
  const [sampleBirth, setSampleBirth] = useState('19650723');
  const [sampleStudy, setSampleStudy] = useState('20240311');
  // Text fields for lists keep what was typed (commas, spaces) until it is parsed.
  const [callers, setCallers] = useState('');
  const [modalities, setModalities] = useState('');
  // Fields edited since loading (dotted paths): a field is marked wrong only once someone has typed in it, or tried to save.
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [triedToSave, setTriedToSave] = useState(false);

  useEffect(() => {
    api.getSettings({}).then((v) => {
      setView(v);
      setDraft(v.settings);
      setCallers(v.settings.intake.allowedCallingAeTitles.join(', '));
      setModalities(v.settings.deid.burnedInModalities.join(', '));
    }, (e: unknown) => setFailure(errorText(e)));
  }, [api]);

  // The same schema the core validates with: errors show next to the field while typing.
  const localErrors = useMemo(() => {
    if (!draft) return {};
    const parsed = GatewaySettings.safeParse(draft);
    const errors: Record<string, string> = {};
    if (!parsed.success) for (const issue of parsed.error.issues) errors[issue.path.join('.')] ??= issue.message;
    return errors;
  }, [draft]);

  // Unsaved changes: leaving the screen (another screen, a reload, closing the tab) asks first.
  const dirty = Boolean(draft && view && JSON.stringify(draft) !== JSON.stringify(view.settings));
  useEffect(() => {
    if (!dirty) return;
    leaveGuard.current = () => window.confirm('Settings have changes that are not saved. Leave without saving them?');
    const onUnload = (e: BeforeUnloadEvent): void => e.preventDefault();
    window.addEventListener('beforeunload', onUnload);
    return () => {
      leaveGuard.current = undefined;
      window.removeEventListener('beforeunload', onUnload);
    };
  }, [dirty]);

  if (!draft || !view) return <section><h1 tabIndex={-1}>Settings</h1>{failure ? <p className="error" role="alert">{failure}</p> : <p>Loading…</p>}</section>;

  const shownLocal = Object.fromEntries(
    Object.entries(localErrors).filter(([path]) => triedToSave || [...touched].some((t) => path === t || path.startsWith(`${t}.`) || t.startsWith(`${path}.`))),
  );
  const errors = { ...serverErrors, ...shownLocal };
  const err = (path: string): string | undefined => errors[path];
  const update = (path: string[], value: unknown): void => {
    setDraft((d) => (d ? setIn(d, path, value) : d));
    setServerErrors((e) => {
      const rest = { ...e };
      delete rest[path.join('.')];
      return rest;
    });
    setResult(undefined);
    setTouched((t) => new Set(t).add(path.join('.')));
    // A connection test said something about the destination as it was: it no longer holds once that changes.
    if (path[0] === 'destination') setCheck(undefined);
  };
  const input = (path: string[], id: string, type: 'text' | 'number' | 'password' = 'text', extra: Record<string, unknown> = {}) => {
    let value: unknown = draft;
    for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
    const e = err(path.join('.'));
    return (
      <input
        id={id}
        type={type}
        value={type === 'number' ? shown(value as number | undefined) : ((value as string | undefined) ?? '')}
        onChange={(ev) => update(path, type === 'number' ? num(ev.target.value) : ev.target.value === '' && OPTIONAL.has(path.at(-1)!) ? undefined : ev.target.value)}
        aria-invalid={e ? true : undefined}
        aria-describedby={e ? `${id}-error` : undefined}
        {...extra}
      />
    );
  };

  const destination = draft.destination;
  // The preview follows a rule only while the rule is valid: never a date the gateway would not write.
  const birthRuleValid = !Object.keys(localErrors).some((k) => k.startsWith('deid.birthDate'));
  const studyRuleValid = !Object.keys(localErrors).some((k) => k.startsWith('deid.studyDates'));
  const birthPreview = !birthRuleValid ? '— (fix the rule first)' : /^\d{8}$/.test(sampleBirth) ? formatDate(applyBirthDateRule(sampleBirth, draft.deid.birthDate)) : '—';
  const studyRule = draft.deid.studyDates;
  const studyPreview = !studyRuleValid ? '— (fix the rule first)' : /^\d{8}$/.test(sampleStudy) ? formatDate(applyStudyDateRule(sampleStudy, studyRule, 42)) : '—';
  const invalid = Object.keys(localErrors).length > 0;

  const save = async (): Promise<void> => {
    setTriedToSave(true);
    if (invalid) return;
    setSaving(true);
    setFailure(undefined);
    try {
      const r = await api.saveSettings({ settings: draft, clearDestinationPassword: clearPassword });
      setResult(r);
      setView(r.view);
      setDraft(r.view.settings);
      setClearPassword(false);
      setServerErrors({});
      setTouched(new Set());
      setTriedToSave(false);
    } catch (e) {
      if (e instanceof ApiCallError && e.error.issues) {
        const mapped: Record<string, string> = {};
        for (const i of e.error.issues) mapped[i.path.replace(/^settings\./, '')] ??= i.message;
        setServerErrors(mapped);
        setFailure('Some settings are not valid: see the messages next to the fields');
      } else setFailure(errorText(e));
    } finally {
      setSaving(false);
    }
  };

  const testConnection = async (): Promise<void> => {
    if (!destination) return;
    // A destination the form already finds wrong is not sent: say what to fix, once, in the field's own words.
    const problem = Object.entries(localErrors).find(([path]) => path.startsWith('destination'));
    if (problem) {
      setTouched((t) => new Set(t).add(problem[0]));
      setCheck(`Fix this first: ${problem[1]}`);
      return;
    }
    setCheck('running');
    try {
      setCheck(await api.testDestination({ destination }));
    } catch (e) {
      setCheck(e instanceof ApiCallError && e.error.issues?.length ? [...new Set(e.error.issues.map((i) => i.message))].join('; ') : errorText(e));
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title" tabIndex={-1}>Settings</h1>
      {!view.canSave && <p className="error">The gateway was started without a settings file: changes cannot be saved.</p>}
      <form onSubmit={(e) => { e.preventDefault(); void save(); }} noValidate>
        <fieldset>
          <legend>Receiving (DICOM)</legend>
          <Field id="intake-ae" label="AE title" error={err('intake.aeTitle')}>{input(['intake', 'aeTitle'], 'intake-ae')}</Field>
          <Field id="intake-port" label="DICOM port" error={err('intake.port')} hint="Changing it restarts the listener at once">{input(['intake', 'port'], 'intake-port', 'number')}</Field>
          <Field id="intake-callers" label="Allowed callers (AE titles)" error={Object.entries(errors).find(([k]) => k.startsWith('intake.allowedCallingAeTitles'))?.[1]} hint="Separated by commas; empty: any caller">
            <input id="intake-callers" value={callers} onChange={(e) => { setCallers(e.target.value); update(['intake', 'allowedCallingAeTitles'], list(e.target.value)); }} />
          </Field>
          <Field id="site-code" label="Site code" error={err('site.code')} hint="Starts every research ID; takes effect after a restart">{input(['site', 'code'], 'site-code', 'text', {
            // Site codes are capitals and digits: what is typed in lower case is written in capitals.
            onChange: (ev: ChangeEvent<HTMLInputElement>) => update(['site', 'code'], ev.target.value.toUpperCase()),
            autoCapitalize: 'characters',
          })}</Field>
        </fieldset>

        <fieldset>
          <legend>Research server (destination)</legend>
          <label className="check">
            <input type="checkbox" checked={destination !== undefined} onChange={(e) => update(['destination'], e.target.checked ? (view.settings.destination ?? NEW_DESTINATION) : undefined)} />
            Upload to a research server
          </label>
          {destination && (
            <>
              <Field id="dest-type" label="Destination type" error={err('destination.type')}>
                <select id="dest-type" value={destination.type} onChange={(e) => update(['destination', 'type'], e.target.value)}>
                  <option value="orthanc-rest">Orthanc (REST)</option>
                  <option value="dicomweb">DICOMweb (STOW-RS)</option>
                  <option value="dimse">DICOM (C-STORE)</option>
                </select>
              </Field>
              {destination.type !== 'dimse' ? (
                <>
                  <Field id="dest-url" label="URL" error={err('destination.url')}>{input(['destination', 'url'], 'dest-url', 'text', { placeholder: 'https://research.example.org:8042' })}</Field>
                  <Field id="dest-user" label="User name" error={err('destination.username')}>{input(['destination', 'username'], 'dest-user', 'text', { autoComplete: 'off' })}</Field>
                  <Field id="dest-password" label="Password" error={err('destination.password')} hint={view.destinationPasswordSet ? 'A password is saved; leave empty to keep it' : undefined}>
                    {input(['destination', 'password'], 'dest-password', 'password', { autoComplete: 'new-password', placeholder: view.destinationPasswordSet ? '(saved)' : '' })}
                  </Field>
                  {view.destinationPasswordSet && (
                    <label className="check"><input type="checkbox" checked={clearPassword} onChange={(e) => setClearPassword(e.target.checked)} /> Remove the saved password</label>
                  )}
                  <Field id="dest-ca" label="CA certificate file (https, optional)" error={err('destination.caFile')}>{input(['destination', 'caFile'], 'dest-ca')}</Field>
                </>
              ) : (
                <>
                  <Field id="dest-host" label="Host" error={err('destination.host')}>{input(['destination', 'host'], 'dest-host')}</Field>
                  <Field id="dest-port" label="Port" error={err('destination.port')}>{input(['destination', 'port'], 'dest-port', 'number')}</Field>
                  <Field id="dest-called" label="Called AE title" error={err('destination.calledAeTitle')}>{input(['destination', 'calledAeTitle'], 'dest-called')}</Field>
                  <Field id="dest-calling" label="Calling AE title" error={err('destination.callingAeTitle')}>{input(['destination', 'callingAeTitle'], 'dest-calling')}</Field>
                </>
              )}
              <Field id="dest-concurrency" label="Uploads at once" error={err('destination.concurrency')}>{input(['destination', 'concurrency'], 'dest-concurrency', 'number')}</Field>
              <p>
                <button type="button" onClick={() => void testConnection()} disabled={check === 'running'}>Test connection</button>{' '}
                <span role="status" data-testid="test-connection-result"
                  className={typeof check === 'object' ? (!check.ok ? 'error' : check.warnings.length ? 'warning' : 'ok') : check && check !== 'running' ? 'error' : undefined}>
                  {check === 'running' ? 'Testing…' : typeof check === 'string' ? check : check ? (check.ok ? `Connection works${check.server ? ` (Orthanc ${check.server.version})` : ''}${check.warnings.length ? ', with a warning' : ''}.` : check.problem?.message) : ''}
                </span>
                {typeof check === 'object' && check.ok && check.warnings.length > 0 && (
                  <ul className="warning" data-testid="test-connection-warnings">{check.warnings.map((w) => <li key={w}>{w}</li>)}</ul>
                )}
              </p>
            </>
          )}
        </fieldset>

        <fieldset>
          <legend>Dates</legend>
          <Field id="birth-keep" label="Birth date: keep" error={err('deid.birthDate.keep')}>
            <select id="birth-keep" value={draft.deid.birthDate.keep} onChange={(e) => update(['deid', 'birthDate', 'keep'], e.target.value)}>
              <option value="month">year and month</option>
              <option value="year">year only</option>
            </select>
          </Field>
          <Field id="birth-day" label="Birth date: day written" error={err('deid.birthDate.day')}>{input(['deid', 'birthDate', 'day'], 'birth-day', 'number')}</Field>
          {draft.deid.birthDate.keep === 'year' && <Field id="birth-month" label="Birth date: month written" error={err('deid.birthDate.month')}>{input(['deid', 'birthDate', 'month'], 'birth-month', 'number')}</Field>}
          <p className="preview-line">
            <label htmlFor="birth-sample">Example</label> <input id="birth-sample" className="short" value={sampleBirth} onChange={(e) => setSampleBirth(e.target.value)} aria-describedby="birth-preview" />
            <output id="birth-preview" data-testid="birth-preview">{formatDate(sampleBirth)} → {birthPreview}</output>
          </p>
          <Field id="study-keep" label="Study dates: keep" error={err('deid.studyDates.keep')}>
            <select id="study-keep" value={studyRule.keep} onChange={(e) => update(['deid', 'studyDates', 'keep'], e.target.value)}>
              <option value="all">the full date</option>
              <option value="month">year and month</option>
              <option value="year">year only</option>
              <option value="shift">shifted per patient</option>
            </select>
          </Field>
          {(studyRule.keep === 'month' || studyRule.keep === 'year') && <Field id="study-day" label="Study dates: day written" error={err('deid.studyDates.day')}>{input(['deid', 'studyDates', 'day'], 'study-day', 'number')}</Field>}
          {studyRule.keep === 'year' && <Field id="study-month" label="Study dates: month written" error={err('deid.studyDates.month')}>{input(['deid', 'studyDates', 'month'], 'study-month', 'number')}</Field>}
          {studyRule.keep === 'shift' && <Field id="study-shift" label="Study dates: largest shift (days)" error={err('deid.studyDates.maxShiftDays')}>{input(['deid', 'studyDates', 'maxShiftDays'], 'study-shift', 'number')}</Field>}
          <p className="preview-line">
            <label htmlFor="study-sample">Example</label> <input id="study-sample" className="short" value={sampleStudy} onChange={(e) => setSampleStudy(e.target.value)} />
            <output data-testid="study-preview">{formatDate(sampleStudy)} → {studyPreview}{studyRule.keep === 'shift' ? ' (for a patient whose offset is +42 days)' : ''}</output>
          </p>
        </fieldset>

        <fieldset>
          <legend>De-identification options</legend>
          {([
            ['retainPatientCharacteristics', 'Keep sex, age, weight and size (Retain Patient Characteristics)'],
            ['cleanDescriptors', 'Keep descriptions after cleaning them (Clean Descriptors)'],
            ['retainDeviceIdentity', 'Keep station name and device serial number (Retain Device Identity)'],
            ['retainInstitutionIdentity', 'Keep institution name and department (Retain Institution Identity)'],
            ['retainUids', 'Keep the original UIDs (Retain UIDs)'],
          ] as const).map(([key, label]) => (
            <label key={key} className="check"><input type="checkbox" checked={draft.deid[key]} onChange={(e) => update(['deid', key], e.target.checked)} /> {label}</label>
          ))}
          <label className="check"><input type="checkbox" checked={draft.deid.retainSafePrivate.enabled} onChange={(e) => update(['deid', 'retainSafePrivate', 'enabled'], e.target.checked)} /> Keep allow-listed private attributes (Retain Safe Private; the list is in the settings file)</label>
          <Field id="burned-in" label="Hold for review when Burned In Annotation is absent (modalities)" error={Object.entries(errors).find(([k]) => k.startsWith('deid.burnedInModalities'))?.[1]}>
            <input id="burned-in" value={modalities} onChange={(e) => { setModalities(e.target.value); update(['deid', 'burnedInModalities'], list(e.target.value.toUpperCase())); }} />
          </Field>
        </fieldset>

        <fieldset>
          <legend>Retention and doctor</legend>
          <Field id="keep-spool" label="Keep originals after upload (hours)" error={err('retention.spoolHours')} hint="Originals carry the patient's identity, unencrypted: keep this short">{input(['retention', 'spoolHours'], 'keep-spool', 'number')}</Field>
          <Field id="keep-outbox" label="Keep de-identified files after upload (hours)" error={err('retention.outboxHours')} hint="Needed to send a completed study again, and for its preview">{input(['retention', 'outboxHours'], 'keep-outbox', 'number')}</Field>
          <Field id="doctor-minutes" label="Doctor session (minutes)" error={err('doctor.sessionMinutes')}>{input(['doctor', 'sessionMinutes'], 'doctor-minutes', 'number')}</Field>
        </fieldset>

        <div className="savebar">
          <button type="submit" className="primary" disabled={saving || invalid || !view.canSave}>{saving ? 'Saving…' : 'Save'}</button>
          {dirty && !saving && <span className="hint" data-testid="unsaved">Changes not saved yet</span>}
          <span role="status" data-testid="save-outcome">
            {failure && <span className="error">{failure}</span>}
            {result && <span className="ok">Saved. {[...result.applied, ...result.needsRestart].join('. ') || 'Nothing changed.'}</span>}
          </span>
        </div>
      </form>
    </section>
  );
}
