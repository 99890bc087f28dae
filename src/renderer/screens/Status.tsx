import type { StatusSnapshot } from '../../shared/api';
import { formatAgo, formatTime, useApi, useLive } from '../hooks';

function HourChart({ hours }: { hours: StatusSnapshot['hours'] }) {
  const max = Math.max(1, ...hours.map((h) => Math.max(h.received, h.uploaded + h.failed)));
  const width = 1000;
  const height = 160;
  const slot = width / hours.length;
  const bar = (slot - 8) / 2;
  const y = (n: number): number => height - 20 - (n / max) * (height - 36);
  const summary = hours.map((h) => `${new Date(h.hour).getHours()}:00 ${h.received} received, ${h.uploaded} uploaded`).join('; ');
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Instances per hour, last ${hours.length} hours: ${summary}`}>
      <line x1="0" x2={width} y1={height - 20} y2={height - 20} className="axis" />
      <text x="2" y="12" className="tick">{max}</text>
      {hours.map((h, i) => {
        const x = i * slot + 4;
        return (
          <g key={h.hour}>
            <rect x={x} y={y(h.received)} width={bar} height={height - 20 - y(h.received)} className="bar received"><title>{`${h.received} received`}</title></rect>
            <rect x={x + bar} y={y(h.uploaded)} width={bar} height={height - 20 - y(h.uploaded)} className="bar uploaded"><title>{`${h.uploaded} uploaded`}</title></rect>
            {h.failed > 0 && <rect x={x + bar} y={y(h.uploaded + h.failed)} width={bar} height={y(h.uploaded) - y(h.uploaded + h.failed)} className="bar failed"><title>{`${h.failed} failed`}</title></rect>}
            <text x={x + bar} y={height - 5} className="tick" textAnchor="middle">{`${String(new Date(h.hour).getHours()).padStart(2, '0')}h`}</text>
          </g>
        );
      })}
    </svg>
  );
}

export function StatusScreen() {
  const api = useApi();
  const { data: s, error } = useLive(() => api.getStatus({}), [], { events: ['instance', 'settings'], everyMs: 5_000 });

  return (
    <section aria-labelledby="status-title">
      <h1 id="status-title" tabIndex={-1}>Status</h1>
      {error && <p className="error" role="alert">{error}</p>}
      {s?.storage && <p className="error" role="alert" data-testid="storage-problem">{s.storage.problem} (since {formatTime(s.storage.since)}, next try {formatTime(s.storage.nextAttemptAt)})</p>}
      {s && (
        <>
          <div className="cards">
            <article className="card" aria-labelledby="intake-title" data-testid="intake-card">
              <h2 id="intake-title"><span className={`dot ${s.intake.listening ? 'ok' : 'bad'}`} aria-hidden="true" />{s.intake.listening ? 'Receiving' : 'Not receiving'}</h2>
              <dl>
                <dt>AE title</dt><dd data-testid="intake-ae">{s.intake.aeTitle}</dd>
                <dt>Port</dt><dd data-testid="intake-port">{s.intake.port}</dd>
                <dt>Allowed callers</dt><dd>{s.intake.allowedCallingAeTitles.length ? s.intake.allowedCallingAeTitles.join(', ') : 'any'}</dd>
                <dt>Last association</dt>
                <dd data-testid="last-association">
                  {s.intake.lastAssociation
                    ? `${formatTime(s.intake.lastAssociation.at)} from ${s.intake.lastAssociation.callingAeTitle || '(no AE title)'}${s.intake.lastAssociation.accepted ? '' : ` — rejected: ${s.intake.lastAssociation.reason ?? ''}`}`
                    : 'none since start-up'}
                </dd>
              </dl>
            </article>
            <article className="card" aria-labelledby="destination-title" data-testid="destination-card">
              <h2 id="destination-title">
                <span className={`dot ${!s.destination.configured ? 'idle' : s.destination.check?.ok === false || s.destination.retrying > 0 ? 'bad' : 'ok'}`} aria-hidden="true" />
                Research server
              </h2>
              {!s.destination.configured ? (
                <p>No destination is set: de-identified instances wait in the outbox. Add one in <a href="#/settings">Settings</a>.</p>
              ) : (
                <dl>
                  <dt>Address</dt><dd className="mono">{s.destination.url}</dd>
                  <dt>Reachable</dt>
                  <dd data-testid="destination-reachable">
                    {!s.destination.check ? 'checking…' : s.destination.check.ok ? `yes${s.destination.check.server ? ` (Orthanc ${s.destination.check.server.version})` : ''}` : `no — ${s.destination.check.problem?.message ?? ''}`}
                  </dd>
                  <dt>Last upload</dt><dd data-testid="last-upload">{s.destination.lastUploadAt ? `${formatTime(s.destination.lastUploadAt)} (${formatAgo(s.destination.lastUploadAt, Date.parse(s.now))})` : 'none yet'}</dd>
                  <dt>Waiting</dt>
                  <dd data-testid="backlog">{s.destination.backlog} instance(s){s.destination.retrying ? `, ${s.destination.retrying} retrying` : ''}</dd>
                  {s.destination.lastError && (<><dt>Last error</dt><dd className="error" data-testid="destination-error">{s.destination.lastError}</dd></>)}
                </dl>
              )}
            </article>
          </div>
          <article className="card" aria-labelledby="today-title">
            <h2 id="today-title">Today</h2>
            <ul className="counts">
              {(['received', 'deidentified', 'uploaded', 'held', 'failed'] as const).map((k) => (
                <li key={k} className={`count ${k}`}>
                  <span className="n" data-testid={`today-${k}`}>{s.today[k]}</span>
                  <span className="label">{k === 'deidentified' ? 'de-identified' : k === 'held' ? 'held for review' : k}</span>
                </li>
              ))}
            </ul>
            {s.today.held > 0 && <p><a href="#/review">{s.today.held} instance(s) wait in the review list</a></p>}
            {s.today.failed > 0 && <p><a href="#/resend">{s.today.failed} instance(s) failed: resend</a></p>}
          </article>
          <article className="card" aria-labelledby="chart-title">
            <h2 id="chart-title">Last {s.hours.length} hours</h2>
            <HourChart hours={s.hours} />
            <p className="legend"><span className="swatch received" /> received <span className="swatch uploaded" /> uploaded <span className="swatch failed" /> failed</p>
          </article>
        </>
      )}
    </section>
  );
}
