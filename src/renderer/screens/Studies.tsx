import { useEffect, useState } from 'react';
import { STUDY_STATES, type StudyState } from '../../shared/api';
import { parseStudyDate } from '../../shared/search';
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
  const [fromTyped, setFromTyped] = useState('');
  const [toTyped, setToTyped] = useState('');
  const [range, setRange] = useState<{ from?: string; to?: string }>({});

  // Searching as one types, without a request per key.
  useEffect(() => {
    const t = setTimeout(() => {
      setSearch(typed.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [typed]);

  // A range date counts once it is a whole, real date; until then the field says what it expects.
  const fromDate = fromTyped.trim() ? parseStudyDate(fromTyped) : '';
  const toDate = toTyped.trim() ? parseStudyDate(toTyped) : '';
  const backwards = Boolean(fromDate && toDate && fromDate > toDate);
  useEffect(() => {
    if (fromDate === undefined || toDate === undefined || backwards) return;
    const t = setTimeout(() => {
      setRange({ from: fromDate || undefined, to: toDate || undefined });
      setOffset(0);
    }, 250);
    return () => clearTimeout(t);
  }, [fromDate, toDate, backwards]);

  const { data, error } = useLive(
    () => api.listStudies({ search, state: state || undefined, ...range, offset, limit: PAGE }),
    [search, state, range.from, range.to, offset],
    { events: ['instance'], quietMs: 500 },
  );
  const dateProblem = (typedDate: string, parsed: string | undefined): string | undefined =>
    typedDate.trim() && parsed === undefined ? 'Write a date as 2024-02-01, 01.02.2024 or 20240201' : undefined;
  const fromProblem = dateProblem(fromTyped, fromDate);
  const toProblem = dateProblem(toTyped, toDate) ?? (backwards ? 'The last date is before the first one' : undefined);

  const total = data?.total ?? 0;
  return (
    <section aria-labelledby="studies-title">
      <h1 id="studies-title" tabIndex={-1}>Studies</h1>
      <div className="toolbar" role="search">
        <label>
          Search
          <input type="search" value={typed} onChange={(e) => setTyped(e.target.value)} placeholder="name, research ID, patient ID, accession, date" aria-describedby="search-hint" />
        </label>
        <div className={`range-field${fromProblem ? ' invalid' : ''}`}>
          <label htmlFor="range-from">Study date from</label>
          <input id="range-from" className="date" value={fromTyped} onChange={(e) => setFromTyped(e.target.value)} placeholder="2024-02-01" inputMode="numeric"
            aria-invalid={fromProblem ? true : undefined} aria-describedby={fromProblem ? 'from-problem' : undefined} />
          {fromProblem && <span id="from-problem" className="field-error" data-testid="error-from">{fromProblem}</span>}
        </div>
        <div className={`range-field${toProblem ? ' invalid' : ''}`}>
          <label htmlFor="range-to">to</label>
          <input id="range-to" className="date" value={toTyped} onChange={(e) => setToTyped(e.target.value)} placeholder="2024-03-31" inputMode="numeric"
            aria-invalid={toProblem ? true : undefined} aria-describedby={toProblem ? 'to-problem' : undefined} />
          {toProblem && <span id="to-problem" className="field-error" data-testid="error-to">{toProblem}</span>}
        </div>
        <label>
          State
          <select value={state} onChange={(e) => { setState(e.target.value as StudyState | ''); setOffset(0); }}>
            <option value="">all</option>
            {STUDY_STATES.map((s) => <option key={s} value={s}>{STATE_LABELS[s]}</option>)}
          </select>
        </label>
      </div>
      <p id="search-hint" className="hint">
        Names match in any case, with or without accents (muller finds MÜLLER); dates as 2024-02-01, 01.02.2024 or 20240201.
        Patient names and IDs are shown on this computer only.
      </p>
      {error && <p className="error" role="alert">{error}</p>}
      <table className="grid" aria-describedby="studies-range">
        <thead>
          <tr>
            <th scope="col">Patient (local only)</th><th scope="col">Research ID</th><th scope="col">Study date</th><th scope="col">Accession</th><th scope="col">Modality</th>
            <th scope="col" className="num">Instances<br /><small>delivered / de-identified / received</small></th><th scope="col">State</th><th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {data?.rows.map((r) => (
            <tr key={r.studyKey} data-testid="study-row" data-research-study-uid={r.researchStudyUid}>
              <td>{r.patientName || '—'}{r.patientId && <><br /><span className="hint mono" data-testid="study-patient-id">ID {r.patientId}</span></>}</td>
              <td><a href={`#/studies/${r.studyKey}`} className="mono">{r.researchId}</a></td>
              <td className="nowrap">{formatDate(r.studyDate)}</td>
              <td className="mono">{r.accessionNumber || '—'}</td>
              <td>{r.modality || '—'}</td>
              <td className="num" data-testid="study-instances">{r.uploaded} / {r.deidentified} / {r.instances}</td>
              <td data-testid="study-state"><StateBadge state={r.state} /></td>
              <td className="error-cell" data-testid="study-error">{r.lastError ?? ''}</td>
            </tr>
          ))}
          {data && data.rows.length === 0 && (
            <tr><td colSpan={8} className="empty">{search || state || range.from || range.to ? 'No study matches.' : 'No study received yet.'}</td></tr>
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
