import { useState } from 'react';
import type { InstanceHeader, InstancePreview } from '../../shared/api';
import { STATE_LABELS, errorText, formatBytes, formatDate, formatTime, useApi, useLive } from '../hooks';
import { StateBadge } from './Studies';
import { describeRecheck } from './Resend';

export function Preview({ preview, label }: { preview: InstancePreview | undefined; label: string }) {
  if (!preview) return <div className="preview placeholder">Rendering…</div>;
  if (!preview.available) return <div className="preview placeholder" data-testid="preview-unavailable">{preview.reason}</div>;
  return (
    <figure className="preview">
      <img src={preview.image} width={preview.width} height={preview.height} alt={label} data-testid="preview-image" />
      <figcaption>{preview.source === 'original' ? 'Original image (held; shown on this computer only)' : 'Rendered from the de-identified file'}</figcaption>
    </figure>
  );
}

function HeaderTable({ header }: { header: InstanceHeader | undefined }) {
  const [filter, setFilter] = useState('');
  if (!header) return <p>Reading…</p>;
  if (!header.available) return <p className="hint">{header.reason}</p>;
  const f = filter.toLowerCase();
  const rows = header.attributes.filter((a) => !f || `${a.tag} ${a.keyword} ${a.value}`.toLowerCase().includes(f));
  return (
    <>
      <label className="inline">Filter <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="PatientName, 0010…" /></label>
      {/* Focusable, so a keyboard user can scroll the header too. */}
      <div className="scroll" tabIndex={0} role="region" aria-label="De-identified header">
        <table className="grid compact" data-testid="deid-header">
          <thead><tr><th scope="col">Tag</th><th scope="col">Keyword</th><th scope="col">VR</th><th scope="col">Value</th></tr></thead>
          <tbody>
            {rows.map((a) => <tr key={a.tag}><td className="mono">{a.tag}</td><td>{a.keyword}</td><td>{a.vr}</td><td className="mono">{a.value}</td></tr>)}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function StudyDetailScreen({ studyKey }: { studyKey: number }) {
  const api = useApi();
  const { data, error, reload } = useLive(() => api.getStudy({ studyKey }), [studyKey], { events: ['instance'], quietMs: 500 });
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const [resend, setResend] = useState<string | undefined>(undefined);
  const instanceId = chosen ?? data?.instances[0]?.instanceId;
  const { data: header } = useLive(() => (instanceId ? api.getInstanceHeader({ instanceId }) : Promise.resolve(undefined)), [instanceId]);
  const { data: preview } = useLive(() => (instanceId ? api.getInstancePreview({ instanceId, maxSize: 384 }) : Promise.resolve(undefined)), [instanceId]);

  const study = data?.study;
  const doResend = async (): Promise<void> => {
    if (!study) return;
    setResend('Sending again…');
    try {
      const r = await api.resendStudy({ researchStudyUid: study.researchStudyUid });
      setResend(r.queued ? `${r.queued} instance(s) queued${r.missing ? `; ${r.missing} cannot be sent again (their files were deleted after retention)` : ''}` : 'Nothing to send again (no file left, or nothing failed)');
      reload();
    } catch (e) {
      setResend(errorText(e));
    }
  };

  const doRecheck = async (): Promise<void> => {
    if (!study) return;
    setResend('Asking the research server…');
    try {
      setResend(describeRecheck(await api.recheckDelivery({ researchStudyUid: study.researchStudyUid })));
      reload();
    } catch (e) {
      setResend(errorText(e));
    }
  };

  return (
    <section aria-labelledby="study-title">
      <p><a href="#/studies">← Studies</a></p>
      <h1 id="study-title" tabIndex={-1}>Study {study ? <span className="mono">{study.researchId}</span> : ''}</h1>
      {error && <p className="error" role="alert">{error}</p>}
      {study && (
        <>
          <div className="cards">
            <article className="card">
              <dl>
                <dt>Patient (local only)</dt><dd>{study.patientName}</dd>
                <dt>Research ID</dt><dd className="mono">{study.researchId}</dd>
                <dt>Research Study UID</dt><dd className="mono small">{study.researchStudyUid}</dd>
                <dt>Study date</dt><dd>{formatDate(study.studyDate)}</dd>
                <dt>Modality</dt><dd>{study.modality}</dd>
                <dt>State</dt><dd data-testid="detail-state"><StateBadge state={study.state} /> {study.uploaded} of {study.instances} uploaded</dd>
                {study.lastError && (<><dt>Last error</dt><dd className="error">{study.lastError}</dd></>)}
              </dl>
              <p>
                <button type="button" onClick={() => void doResend()}>{study.state === 'complete' ? 'Send this study again' : 'Resend now'}</button>{' '}
                <button type="button" onClick={() => void doRecheck()}>Check delivery</button>{' '}
                <span role="status" data-testid="resend-outcome">{resend}</span>
              </p>
            </article>
            <article className="card">
              <h2>Image</h2>
              <Preview preview={preview} label={`Instance ${instanceId ?? ''} of study ${study.researchId}`} />
            </article>
          </div>
          <h2>Instances</h2>
          <table className="grid">
            <thead><tr><th scope="col">Instance</th><th scope="col">Research SOP Instance UID</th><th scope="col">State</th><th scope="col" className="num">Attempts</th><th scope="col">Size</th><th scope="col">Updated</th><th scope="col">Last error</th></tr></thead>
            <tbody>
              {data.instances.map((i) => (
                <tr key={i.instanceId} aria-selected={i.instanceId === instanceId} data-testid="instance-row">
                  <td><button type="button" className="link" onClick={() => setChosen(i.instanceId)} aria-pressed={i.instanceId === instanceId}>#{i.instanceId}</button></td>
                  <td className="mono small">{i.researchSopInstanceUid ?? '—'}</td>
                  <td>{STATE_LABELS[i.state] ?? i.state}</td>
                  <td className="num">{i.attempts}</td>
                  <td>{formatBytes(i.sizeBytes)}</td>
                  <td>{formatTime(i.updatedAt)}</td>
                  <td className="error-cell">{i.lastError ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>De-identified header of instance #{instanceId}</h2>
          <HeaderTable header={header} />
        </>
      )}
    </section>
  );
}
