import { useEffect, useState } from 'react';
import { STUDY_STATES, type StudyState } from '../../shared/api';
import { STATE_LABELS, formatDate, useApi, useLive } from '../hooks';

const PAGE = 50;

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${state}`}>{STATE_LABELS[state] ?? state}</span>;
}

export function StudiesScreen() {
  const api = useApi();
  const [typed, setTyped] = useState('');
  const [search, setSearch] = useState('');
  const [state, setState] = useState<StudyState | ''>('');
  const [offset, setOffset] = useState(0);

  // Searching as one types, without a request per key.
  useEffect(() => {
    const t = setTimeout(() => {
      setSearch(typed.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [typed]);

  const { data, error } = useLive(
    () => api.listStudies({ search, state: state || undefined, offset, limit: PAGE }),
    [search, state, offset],
    { events: ['instance'], quietMs: 500 },
  );

  const total = data?.total ?? 0;
  return (
    <section aria-labelledby="studies-title">
      <h1 id="studies-title" tabIndex={-1}>Studies</h1>
      <div className="toolbar" role="search">
        <label>
          Search
          <input type="search" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="name, research ID, date (20240311), modality" aria-describedby="search-hint" />
        </label>
        <span id="search-hint" className="hint">Patient names are shown on this computer only.</span>
        <label>
          State
          <select value={state} onChange={(e) => { setState(e.target.value as StudyState | ''); setOffset(0); }}>
            <option value="">all</option>
            {STUDY_STATES.map((s) => <option key={s} value={s}>{STATE_LABELS[s]}</option>)}
          </select>
        </label>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      <table className="grid" aria-describedby="studies-range">
        <thead>
          <tr>
            <th scope="col">Patient (local only)</th><th scope="col">Research ID</th><th scope="col">Study date</th><th scope="col">Modality</th>
            <th scope="col" className="num">Instances<br /><small>delivered / de-identified / received</small></th><th scope="col">State</th><th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {data?.rows.map((r) => (
            <tr key={r.studyKey} data-testid="study-row" data-research-study-uid={r.researchStudyUid}>
              <td>{r.patientName || '—'}</td>
              <td><a href={`#/studies/${r.studyKey}`} className="mono">{r.researchId}</a></td>
              <td>{formatDate(r.studyDate)}</td>
              <td>{r.modality || '—'}</td>
              <td className="num" data-testid="study-instances">{r.uploaded} / {r.deidentified} / {r.instances}</td>
              <td data-testid="study-state"><StateBadge state={r.state} /></td>
              <td className="error-cell" data-testid="study-error">{r.lastError ?? ''}</td>
            </tr>
          ))}
          {data && data.rows.length === 0 && (
            <tr><td colSpan={7} className="empty">{search || state ? 'No study matches.' : 'No study received yet.'}</td></tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <span id="studies-range" aria-live="polite">{total ? `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total.toLocaleString()}` : '0 studies'}</span>
        <button type="button" onClick={() => setOffset(Math.max(0, offset - PAGE))} disabled={offset === 0}>Previous</button>
        <button type="button" onClick={() => setOffset(offset + PAGE)} disabled={offset + PAGE >= total}>Next</button>
      </div>
    </section>
  );
}
