import { useState } from 'react';
import type { StudySummary } from '../../shared/api';
import type { DeliveryRecheck } from '../../shared/domain';
import { errorText, formatDate, useApi, useLive } from '../hooks';
import { StateBadge } from './Studies';

export function describeRecheck(r: DeliveryRecheck): string {
  const parts = [`${r.present} still there`];
  if (r.requeued) parts.push(`${r.requeued} gone and queued again`);
  if (r.missing) parts.push(`${r.missing} gone with no copy left here (failed: send again from the modality)`);
  if (r.mismatched) parts.push(`${r.mismatched} held in another form (failed, with the difference)`);
  if (r.unverifiable) parts.push(`${r.unverifiable} cannot be asked (a DICOM destination without C-FIND)`);
  return `Checked ${r.checked} delivered instance(s): ${parts.join(', ')}.`;
}

function StudyTable({ rows, busy, onResend, outcome, label }: {
  rows: StudySummary[]; busy: boolean; onResend: (s: StudySummary) => void; outcome: Record<string, string>; label: string;
}) {
  return (
    <table className="grid">
      <thead><tr><th scope="col">Research ID</th><th scope="col">Study date</th><th scope="col" className="num">Uploaded</th><th scope="col">State</th><th scope="col">Last error</th><th scope="col">Action</th></tr></thead>
      <tbody>
        {rows.map((s) => (
          <tr key={s.studyKey} data-testid="resend-row" data-research-study-uid={s.researchStudyUid}>
            <td><a className="mono" href={`#/studies/${s.studyKey}`}>{s.researchId}</a></td>
            <td>{formatDate(s.studyDate)}</td>
            <td className="num">{s.uploaded} / {s.instances}</td>
            <td><StateBadge state={s.state} /></td>
            <td className="error-cell">{s.lastError ?? ''}</td>
            <td>
              <button type="button" disabled={busy} onClick={() => onResend(s)} aria-label={`${label} ${s.researchId}`}>{label}</button>
              <div role="status" className="small">{outcome[s.researchStudyUid] ?? ''}</div>
            </td>
          </tr>
        ))}
        {rows.length === 0 && <tr><td colSpan={6} className="empty">None.</td></tr>}
      </tbody>
    </table>
  );
}

export function ResendScreen() {
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Record<string, string>>({});
  const [allOutcome, setAllOutcome] = useState('');
  const [lastOutcome, setLastOutcome] = useState('');
  const [recheck, setRecheck] = useState('');
  const [completeSearch, setCompleteSearch] = useState('');
  const live = { events: ['instance' as const], quietMs: 500 };
  const failed = useLive(() => api.listStudies({ state: 'failed', limit: 100 }), [], live);
  const retrying = useLive(() => api.listStudies({ state: 'retrying', limit: 100 }), [], live);
  const complete = useLive(() => api.listStudies({ state: 'complete', search: completeSearch, limit: 20 }), [completeSearch], live);

  const resendOne = async (s: StudySummary): Promise<void> => {
    setBusy(true);
    try {
      const r = await api.resendStudy({ researchStudyUid: s.researchStudyUid });
      const text = r.queued
        ? `${r.queued} instance(s) queued${r.missing ? `, ${r.missing} without a file left to send` : ''}: progress shows in Studies and below`
        : r.missing ? `Cannot send again: the ${r.missing} de-identified file(s) were deleted after retention` : 'Nothing to send again';
      setOutcome((o) => ({ ...o, [s.researchStudyUid]: text }));
      setLastOutcome(`Study ${s.researchId}: ${text}`);
    } catch (e) {
      setOutcome((o) => ({ ...o, [s.researchStudyUid]: errorText(e) }));
      setLastOutcome(`Study ${s.researchId}: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const resendAll = async (): Promise<void> => {
    setBusy(true);
    try {
      const r = await api.resendFailed({});
      setAllOutcome(r.queued ? `${r.queued} instance(s) queued again` : 'Nothing failed: nothing to send');
    } catch (e) {
      setAllOutcome(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const checkDelivery = async (): Promise<void> => {
    setBusy(true);
    setRecheck('Asking the research server…');
    try {
      setRecheck(describeRecheck(await api.recheckDelivery({})));
    } catch (e) {
      setRecheck(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const failedCount = (failed.data?.total ?? 0) + (retrying.data?.total ?? 0);
  return (
    <section aria-labelledby="resend-title">
      <h1 id="resend-title" tabIndex={-1}>Resend</h1>
      <p>
        <button type="button" className="primary" disabled={busy || failedCount === 0} onClick={() => void resendAll()}>Resend all failed ({failedCount} studies)</button>{' '}
        <span role="status" data-testid="resend-all-outcome">{allOutcome}</span>
      </p>
      <p role="status" data-testid="resend-outcome">{lastOutcome}</p>
      <p>
        <button type="button" disabled={busy} onClick={() => void checkDelivery()}>Check delivery at the research server</button>{' '}
        <span role="status" data-testid="recheck-outcome">{recheck}</span>
      </p>
      {(failed.error ?? retrying.error ?? complete.error) && <p className="error" role="alert">{failed.error ?? retrying.error ?? complete.error}</p>}
      <h2>Failed</h2>
      <p className="hint">Refused by the research server (the reason says what to fix first, e.g. the password in Settings).</p>
      <StudyTable rows={failed.data?.rows ?? []} busy={busy} onResend={(s) => void resendOne(s)} outcome={outcome} label="Resend" />
      <h2>Waiting for the research server</h2>
      <p className="hint">The server could not be reached; the gateway retries by itself. "Resend" tries again now (e.g. once the server is back).</p>
      <StudyTable rows={retrying.data?.rows ?? []} busy={busy} onResend={(s) => void resendOne(s)} outcome={outcome} label="Resend" />
      <h2>Completed: send again</h2>
      <label className="inline">Find <input type="search" value={completeSearch} onChange={(e) => setCompleteSearch(e.target.value)} placeholder="research ID, date…" /></label>
      <StudyTable rows={complete.data?.rows ?? []} busy={busy} onResend={(s) => void resendOne(s)} outcome={outcome} label="Send again" />
    </section>
  );
}
