import { useEffect, useState } from 'react';
import { AUDIT_OUTCOME_WORDS, auditActionInWords } from '../../shared/audit-words';
import type { CrosswalkExportResult, CrosswalkPatientView, DoctorState } from '../../shared/api';
import { errorText, formatDate, formatDateTime, formatTime, useApi, useLive } from '../hooks';

type Filter = { kind: 'all' } | { kind: 'dateRange'; from?: string; to?: string } | { kind: 'researchIds'; researchIds: string[] };

// FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX as people write it: "FAMILY, GIVEN MIDDLE PREFIX SUFFIX".
const formatName = (pn: string): string => {
  const [family = '', ...rest] = pn.split('=')[0]!.split('^');
  const given = rest.filter(Boolean).join(' ');
  return given ? `${family}, ${given}` : family;
};

function newExportId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function saveBlob(fileName: string, base64: string): void {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  saveFile(fileName, new Blob([bytes], { type: 'application/zip' }));
}

function saveText(fileName: string, text: string, type: string): void {
  saveFile(fileName, new Blob([text], { type }));
}

/** Lets the browser save a file the gateway made (the export, the audit log). */
function saveFile(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function AuditLog() {
  const api = useApi();
  const [offset, setOffset] = useState(0);
  const { data, error } = useLive(() => api.listAudit({ offset, limit: 25 }), [offset], { everyMs: 10_000 });
  const [verdict, setVerdict] = useState<string | undefined>(undefined);
  const verify = async (): Promise<void> => {
    try {
      const r = await api.verifyAudit({});
      setVerdict(r.ok ? `Intact: all ${r.entries} entries are as they were written.` : `Tampered with: ${r.problem ?? 'the chain is broken'}.`);
    } catch (e) {
      setVerdict(errorText(e));
    }
  };
  const download = async (format: 'csv' | 'json'): Promise<void> => {
    try {
      const r = await api.exportAudit({ format });
      saveText(r.fileName, r.text, format === 'csv' ? 'text/csv' : 'application/json');
    } catch (e) {
      setVerdict(errorText(e));
    }
  };
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <p className="actions left">
        <button type="button" onClick={() => void verify()}>Check the audit log</button>
        <button type="button" onClick={() => void download('csv')}>Save as CSV</button>
        <button type="button" onClick={() => void download('json')}>Save as JSON</button>
        <span role="status" data-testid="audit-verdict">{verdict}</span>
      </p>
      {error && <p className="error">{error}</p>}
      <table className="grid compact" data-testid="audit-log">
        <thead><tr><th scope="col">#</th><th scope="col">Date and time</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">Detail</th></tr></thead>
        <tbody>
          {data?.entries.map((e) => (
            <tr key={e.id} data-testid="audit-row">
              <td className="num">{e.id}</td>
              <td className="nowrap" data-testid="audit-at"><time dateTime={e.at}>{formatDateTime(e.at)}</time></td>
              <td>{e.actor}</td>
              <td data-testid="audit-action" title={e.action}>{auditActionInWords(e.action)}</td>
              <td>{AUDIT_OUTCOME_WORDS[e.outcome] ?? e.outcome}</td>
              <td className="words" data-testid="audit-detail">{e.detailInWords}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <span>{data ? `${data.total ? offset + 1 : 0}–${Math.min(offset + 25, data.total)} of ${data.total}` : ''}</span>
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 25))}>Newer</button>
        <button type="button" disabled={!data || offset + 25 >= data.total} onClick={() => setOffset(offset + 25)}>Older</button>
      </div>
    </section>
  );
}

export function CrosswalkScreen() {
  const api = useApi();
  const [state, setState] = useState<DoctorState | undefined>(undefined);
  // The session token lives in this page's memory only: a reload locks the crosswalk again.
  const [token, setToken] = useState<string | undefined>(undefined);
  const [expiresAt, setExpiresAt] = useState<string | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [lookupId, setLookupId] = useState('');
  const [found, setFound] = useState<CrosswalkPatientView | null | undefined>(undefined);
  const [filterKind, setFilterKind] = useState<Filter['kind']>('all');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [ids, setIds] = useState('');
  const [exportPassword, setExportPassword] = useState('');
  const [exportAgain, setExportAgain] = useState('');
  const [exportFormat, setExportFormat] = useState<'xlsx' | 'csv-comma' | 'csv-semicolon'>('xlsx');
  const [deliveredOnly, setDeliveredOnly] = useState(true);
  const [progress, setProgress] = useState<{ rowsWritten: number; rowsTotal: number } | undefined>(undefined);
  const [exported, setExported] = useState<CrosswalkExportResult | undefined>(undefined);
  const [exportError, setExportError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [changing, setChanging] = useState(false);

  const refresh = (t = token): void => void api.doctorState({ token: t }).then(setState, (e: unknown) => setMessage(errorText(e)));
  useEffect(() => refresh(), []);
  // The session ends on the gateway after its time: show it locked then, rather than failing at the next click.
  useEffect(() => {
    if (!expiresAt) return;
    const t = setTimeout(() => { setToken(undefined); setExpiresAt(undefined); setFound(undefined); refresh(undefined); setMessage('The session ended: unlock again.'); }, Math.max(0, Date.parse(expiresAt) - Date.now()));
    return () => clearTimeout(t);
  }, [expiresAt]);

  const run = async (work: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setMessage(undefined);
    try {
      await work();
    } catch (e) {
      setMessage(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const unlocked = Boolean(token && state?.unlocked);

  const doExport = async (): Promise<void> => {
    if (!token) return;
    const filter: Filter = filterKind === 'all' ? { kind: 'all' }
      : filterKind === 'dateRange' ? { kind: 'dateRange', from: from.replace(/-/g, '') || undefined, to: to.replace(/-/g, '') || undefined }
      : { kind: 'researchIds', researchIds: ids.split(/[\s,]+/).filter(Boolean) };
    const exportId = newExportId();
    setExported(undefined);
    setExportError(undefined);
    setProgress({ rowsWritten: 0, rowsTotal: 0 });
    const off = api.on('exportProgress', (p) => { if (p.exportId === exportId) setProgress({ rowsWritten: p.rowsWritten, rowsTotal: p.rowsTotal }); });
    setBusy(true);
    try {
      const format = exportFormat === 'xlsx' ? 'xlsx' : 'csv';
      const csvDelimiter = exportFormat === 'csv-semicolon' ? ';' : ',';
      const result = await api.crosswalkExport({ token, password: exportPassword, confirmation: exportAgain, filter, format, csvDelimiter, deliveredOnly, exportId });
      const file = await api.crosswalkExportFile({ token, exportId });
      saveBlob(file.fileName, file.base64);
      setExported(result);
      setExportPassword('');
      setExportAgain('');
    } catch (e) {
      setExportError(errorText(e));
      setProgress(undefined);
    } finally {
      off();
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="crosswalk-title">
      <h1 id="crosswalk-title" tabIndex={-1}>Crosswalk (doctor)</h1>
      <p className="hint">Only the responsible doctor may turn a research ID back into a patient. Every unlock, look-up and export is written to the audit log.</p>
      {message && <p className="error" role="alert" data-testid="doctor-message">{message}</p>}

      {state && !state.passwordSet && (
        <form className="card narrow" onSubmit={(e) => { e.preventDefault(); void run(async () => { setState(await api.doctorSetPassword({ password, confirmation: again })); setPassword(''); setAgain(''); setMessage(undefined); }); }}>
          <h2>Set the doctor password</h2>
          <p className="hint">At least 12 characters with three kinds of character, or a passphrase of 20 or more.</p>
          <div className="field"><label htmlFor="dp-new">New doctor password</label><input id="dp-new" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} /></div>
          <div className="field"><label htmlFor="dp-again">Same password again</label><input id="dp-again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} /></div>
          <button type="submit" className="primary" disabled={busy}>Set password</button>
        </form>
      )}

      {state?.passwordSet && !unlocked && (
        <form className="card narrow" onSubmit={(e) => { e.preventDefault(); void run(async () => { const s = await api.doctorUnlock({ password }); setToken(s.token); setExpiresAt(s.expiresAt); setPassword(''); refresh(s.token); }); }}>
          <h2>Unlock</h2>
          <div className="field"><label htmlFor="dp-unlock">Doctor password</label><input id="dp-unlock" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} /></div>
          <button type="submit" className="primary" disabled={busy}>Unlock</button>
        </form>
      )}

      {unlocked && token && (
        <>
          <p data-testid="doctor-unlocked">
            Unlocked until {formatTime(expiresAt)}.{' '}
            <button type="button" onClick={() => void run(async () => { setState(await api.doctorLock({ token })); setToken(undefined); setFound(undefined); })}>Lock now</button>{' '}
            <button type="button" onClick={() => setChanging(!changing)} aria-expanded={changing}>Change the doctor password…</button>
          </p>
          {changing && (
            <form className="card narrow" onSubmit={(e) => { e.preventDefault(); void run(async () => { setState(await api.doctorChangePassword({ token, password, confirmation: again })); setPassword(''); setAgain(''); setChanging(false); setMessage(undefined); }); }}>
              <h2>Change the doctor password</h2>
              <div className="field"><label htmlFor="dp-change">New doctor password</label><input id="dp-change" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} /></div>
              <div className="field"><label htmlFor="dp-change-again">New password again</label><input id="dp-change-again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} /></div>
              <button type="submit" className="primary" disabled={busy}>Change password</button>
            </form>
          )}
          <div className="cards">
            <form className="card" onSubmit={(e) => { e.preventDefault(); void run(async () => setFound((await api.crosswalkLookup({ token, researchId: lookupId })).found)); }}>
              <h2>Look up</h2>
              <div className="field"><label htmlFor="lookup-id">Research ID or research Study UID</label><input id="lookup-id" value={lookupId} onChange={(e) => setLookupId(e.target.value)} placeholder="KGH-7F3K9Q2M" /></div>
              <button type="submit" disabled={busy}>Look up</button>
              {found === null && <p data-testid="lookup-result">Not in the crosswalk.</p>}
              {found && (
                <div data-testid="lookup-result">
                  <dl>
                    <dt>Name</dt><dd>{formatName(found.name)}</dd>
                    <dt>Patient ID</dt><dd>{found.patientId}{found.issuer ? ` (issuer ${found.issuer})` : ''}</dd>
                    <dt>Birth date</dt><dd>{formatDate(found.birthDate)}</dd>
                    <dt>Sex</dt><dd>{found.sex || '—'}</dd>
                  </dl>
                  <table className="grid compact">
                    <thead><tr><th scope="col">Study date</th><th scope="col">Accession</th><th scope="col">Modality</th><th scope="col">Research Study UID</th></tr></thead>
                    <tbody>{found.studies.map((s) => <tr key={s.researchStudyUid}><td>{formatDate(s.studyDate)}</td><td>{s.accessionNumber}</td><td>{s.modality}</td><td className="mono small">{s.researchStudyUid}</td></tr>)}</tbody>
                  </table>
                </div>
              )}
            </form>
            <form className="card" onSubmit={(e) => { e.preventDefault(); void doExport(); }}>
              <h2>Export</h2>
              <fieldset className="plain">
                <legend>Which studies</legend>
                <label className="check"><input type="radio" name="filter" checked={filterKind === 'all'} onChange={() => setFilterKind('all')} /> All</label>
                <label className="check"><input type="radio" name="filter" checked={filterKind === 'dateRange'} onChange={() => setFilterKind('dateRange')} /> Study dates from–to</label>
                {filterKind === 'dateRange' && (
                  <div className="row">
                    <div className="field"><label htmlFor="ex-from">From</label><input id="ex-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} /></div>
                    <div className="field"><label htmlFor="ex-to">To</label><input id="ex-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} /></div>
                  </div>
                )}
                <label className="check"><input type="radio" name="filter" checked={filterKind === 'researchIds'} onChange={() => setFilterKind('researchIds')} /> These research IDs</label>
                {filterKind === 'researchIds' && <div className="field"><label htmlFor="ex-ids">Research IDs</label><textarea id="ex-ids" rows={3} value={ids} onChange={(e) => setIds(e.target.value)} /></div>}
              </fieldset>
              <div className="field">
                <label htmlFor="ex-format">File format</label>
                <select id="ex-format" value={exportFormat} onChange={(e) => setExportFormat(e.target.value as typeof exportFormat)} aria-describedby="ex-format-hint">
                  <option value="xlsx">Spreadsheet (.xlsx), for people</option>
                  <option value="csv-comma">CSV, comma-separated, for programs</option>
                  <option value="csv-semicolon">CSV, semicolon-separated (spreadsheets set to a decimal comma)</option>
                </select>
                <small id="ex-format-hint" className="hint">The spreadsheet keeps IDs as text (0004711 stays 0004711), dates as dates, family and given names in their own columns.</small>
              </div>
              <label className="check"><input type="checkbox" checked={deliveredOnly} onChange={(e) => setDeliveredOnly(e.target.checked)} /> Only patients with images delivered to research</label>
              <div className="field"><label htmlFor="ex-password">Password for the export file</label><input id="ex-password" type="password" autoComplete="new-password" value={exportPassword} onChange={(e) => setExportPassword(e.target.value)} /></div>
              <div className="field"><label htmlFor="ex-again">Same password again</label><input id="ex-again" type="password" autoComplete="new-password" value={exportAgain} onChange={(e) => setExportAgain(e.target.value)} /></div>
              <button type="submit" className="primary" disabled={busy}>Export</button>
              {progress && !exported && (
                <p data-testid="export-progress"><progress max={progress.rowsTotal || 1} value={progress.rowsWritten} aria-label="Export progress" /> {progress.rowsWritten.toLocaleString()} / {progress.rowsTotal.toLocaleString()} rows</p>
              )}
              {exportError && <p className="error" role="alert" data-testid="export-error">{exportError}</p>}
              {exported && <p className="ok" role="status" data-testid="export-done">Saved {exported.fileName}: {exported.patients} patient(s), {exported.rows} row(s), AES-256 encrypted. Open it with 7-Zip and the export password.</p>}
            </form>
          </div>
        </>
      )}
      <AuditLog />
    </section>
  );
}
