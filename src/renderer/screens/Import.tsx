import { useState } from 'react';
import type { ImportProgress } from '../../shared/import';
import { GATEWAY_BRIDGE_GLOBAL, type GatewayBridge } from '../../shared/bridge';
import { errorText, formatBytes, formatTime, useApi, useLive } from '../hooks';

function timeLeft(seconds: number | null): string {
  if (seconds === null) return 'time left not known yet';
  if (seconds < 90) return `about ${seconds} s left`;
  if (seconds < 90 * 60) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}

const STATE_TEXT: Record<ImportProgress['state'], string> = { running: 'Importing', paused: 'Paused', cancelled: 'Cancelled', done: 'Done' };

function ImportCard({ p, busy, act }: { p: ImportProgress; busy: boolean; act: (method: 'pauseImport' | 'resumeImport' | 'cancelImport', id: number) => void }) {
  const looked = p.found - p.waiting;
  return (
    <section className="card" data-testid="import" data-import-id={p.importId} data-state={p.state} aria-label={`Import ${p.importId}`}>
      <h2>{STATE_TEXT[p.state]}{p.discovering ? ' (still looking for files)' : ''}: <span className="mono">{p.root}</span></h2>
      <p>
        <progress max={p.found || 1} value={looked} aria-label={`Import ${p.importId} progress`} data-testid="import-progress" />{' '}
        {looked} / {p.found} files{p.state === 'running' ? ` · ${formatBytes(p.bytesPerSecond)}/s · ${timeLeft(p.secondsLeft)}` : ''}
      </p>
      <dl className="counts" data-testid="import-counts">
        <div><dt>Found</dt><dd data-count="found">{p.found}</dd></div>
        <div><dt>Queued</dt><dd data-count="queued">{p.queued}</dd></div>
        <div><dt>Already delivered</dt><dd data-count="alreadyDelivered">{p.alreadyDelivered}</dd></div>
        <div><dt>Already received</dt><dd data-count="alreadyReceived">{p.alreadyReceived}</dd></div>
        <div><dt>Not DICOM</dt><dd data-count="notDicom">{p.notDicom}</dd></div>
        <div><dt>Failed</dt><dd data-count="failed">{p.failed}</dd></div>
        <div><dt>Waiting</dt><dd data-count="waiting">{p.waiting}</dd></div>
      </dl>
      <p className="small">Started {formatTime(p.startedAt)} · {formatBytes(p.bytesCopied)} copied{p.finishedAt ? ` · finished ${formatTime(p.finishedAt)}` : ''}</p>
      {(p.state === 'running' || p.state === 'paused') && (
        <p>
          {p.state === 'running'
            ? <button type="button" disabled={busy} onClick={() => act('pauseImport', p.importId)}>Pause</button>
            : <button type="button" disabled={busy} onClick={() => act('resumeImport', p.importId)}>Resume</button>}{' '}
          <button type="button" disabled={busy} onClick={() => act('cancelImport', p.importId)}>Cancel import</button>
        </p>
      )}
      {p.problems.length > 0 && (
        <details>
          <summary>{p.failed} file(s) could not be imported</summary>
          <ul className="small">{p.problems.map((x) => <li key={x.path}><span className="mono">{x.path}</span>: {x.reason}</li>)}</ul>
        </details>
      )}
    </section>
  );
}

/** Brings in an archive: a folder, a disk or a DICOMDIR, through the same de-identification as a modality's images. */
export function ImportScreen() {
  const api = useApi();
  const bridge = (window as unknown as Record<string, GatewayBridge | undefined>)[GATEWAY_BRIDGE_GLOBAL];
  const [folder, setFolder] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const imports = useLive(() => api.importStatus({}), [], { everyMs: 1000 });

  const start = async (): Promise<void> => {
    setBusy(true);
    setMessage('');
    try {
      const p = await api.startImport({ path: folder });
      setMessage(`Import ${p.importId} started`);
      imports.reload();
    } catch (e) {
      setMessage(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const act = async (method: 'pauseImport' | 'resumeImport' | 'cancelImport', importId: number): Promise<void> => {
    setBusy(true);
    try {
      await api[method]({ importId });
      imports.reload();
    } catch (e) {
      setMessage(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const choose = async (): Promise<void> => {
    const chosen = await bridge?.chooseFolder?.();
    if (chosen) setFolder(chosen);
  };

  return (
    <>
      <h1 tabIndex={-1}>Import</h1>
      <p>Brings in studies from a folder, a disk or a DICOMDIR. Each file is copied, never changed, and goes through the same de-identification and checks as images from a modality. Instances already delivered are skipped.</p>
      <form onSubmit={(e) => { e.preventDefault(); void start(); }}>
        <label htmlFor="import-path">Folder, disk or DICOMDIR</label>{' '}
        <input id="import-path" type="text" size={60} value={folder} onChange={(e) => setFolder(e.target.value)} placeholder="/media/disk or /srv/archive/DICOMDIR" />{' '}
        {bridge?.chooseFolder && <button type="button" onClick={() => void choose()}>Choose…</button>}{' '}
        <button type="submit" disabled={busy || !folder.trim()}>Start import</button>
      </form>
      <p role="status">{message}</p>
      {imports.error && <p role="alert">{imports.error}</p>}
      {imports.data?.imports.map((p) => <ImportCard key={p.importId} p={p} busy={busy} act={(m, id) => void act(m, id)} />)}
      {imports.data && imports.data.imports.length === 0 && <p className="empty">No imports yet.</p>}
    </>
  );
}
