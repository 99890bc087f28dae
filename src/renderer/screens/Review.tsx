import { useState } from 'react';
import type { HeldInstance } from '../../shared/api';
import { errorText, formatBytes, formatTime, useApi, useLive } from '../hooks';
import { Confirm } from '../Confirm';
import { Preview } from './StudyDetail';

export function ReviewScreen() {
  const api = useApi();
  const { data, error, reload } = useLive(() => api.listHeld({ limit: 100 }), [], { events: ['instance'], quietMs: 500 });
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const [asking, setAsking] = useState<{ kind: 'release' | 'discard'; instance: HeldInstance } | undefined>(undefined);
  const [askingRefused, setAskingRefused] = useState(false);
  const [outcome, setOutcome] = useState('');
  const selected = data?.rows.find((r) => r.instanceId === chosen) ?? data?.rows[0];
  const { data: preview } = useLive(() => (selected ? api.getInstancePreview({ instanceId: selected.instanceId, maxSize: 512 }) : Promise.resolve(undefined)), [selected?.instanceId]);

  const answer = async (yes: boolean): Promise<void> => {
    const a = asking;
    setAsking(undefined);
    if (!yes || !a) return;
    try {
      if (a.kind === 'release') {
        const r = await api.releaseHeld({ instanceId: a.instance.instanceId });
        setOutcome(r.released ? `Instance #${a.instance.instanceId} released: it is de-identified and uploaded now` : `Instance #${a.instance.instanceId} was no longer held`);
      } else {
        const r = await api.discardHeld({ instanceId: a.instance.instanceId });
        setOutcome(r.discarded ? `Instance #${a.instance.instanceId} discarded: it will not be uploaded` : `Instance #${a.instance.instanceId} was no longer held`);
      }
      setChosen(undefined);
      reload();
    } catch (e) {
      setOutcome(errorText(e));
    }
  };

  const discardRefused = async (yes: boolean): Promise<void> => {
    setAskingRefused(false);
    if (!yes) return;
    try {
      const r = await api.discardRefused({});
      setOutcome(`${r.discarded} refused data set(s) discarded: they will not be uploaded`);
      setChosen(undefined);
      reload();
    } catch (e) {
      setOutcome(errorText(e));
    }
  };
  const refused = data?.refused ?? 0;

  return (
    <section aria-labelledby="review-title">
      <h1 id="review-title" tabIndex={-1}>Review list</h1>
      <p className="hint">Instances held back: text may be burned into the image, or the file could not be read. Look at the image, then release it (it is de-identified and uploaded) or discard it. Retention deletes them after a while (by default refused data sets after 7 days, held originals after 30); the Deleted column says when, and warns before.</p>
      {error && <p className="error" role="alert">{error}</p>}
      <p role="status" data-testid="review-outcome">{outcome}</p>
      {data && data.rows.length === 0 && <p className="empty" data-testid="review-empty">Nothing waits for review.</p>}
      {refused > 0 && (
        <p className="actions">
          <button type="button" className="danger" data-testid="discard-refused" onClick={() => setAskingRefused(true)}>Discard all refused ({refused})…</button>
        </p>
      )}
      {data && data.rows.length > 0 && (
        <div className="split">
          <table className="grid">
            <thead><tr><th scope="col">Instance</th><th scope="col">Received</th><th scope="col">From</th><th scope="col">Size</th><th scope="col">Reason</th><th scope="col">Deleted</th></tr></thead>
            <tbody>
              {data.rows.map((r) => (
                <tr key={r.instanceId} aria-selected={r.instanceId === selected?.instanceId} data-testid="held-row">
                  <td><button type="button" className="link" aria-pressed={r.instanceId === selected?.instanceId} onClick={() => setChosen(r.instanceId)}>#{r.instanceId}</button></td>
                  <td>{formatTime(r.receivedAt)}</td>
                  <td>{r.callingAeTitle}</td>
                  <td>{formatBytes(r.sizeBytes)}</td>
                  <td>{r.reason}</td>
                  <td data-testid="held-expiry" className={r.expiresSoon ? 'error' : undefined}>
                    {r.expiresAt ? `${r.expiresSoon ? 'Soon: ' : ''}${formatTime(r.expiresAt)}` : '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {selected && (
            <article className="card">
              <h2>Instance #{selected.instanceId}</h2>
              <p>{selected.reason}</p>
              <Preview preview={preview} label={`Held instance ${selected.instanceId}`} />
              <p className="actions">
                <button type="button" className="primary" onClick={() => setAsking({ kind: 'release', instance: selected })}>Release…</button>
                <button type="button" className="danger" onClick={() => setAsking({ kind: 'discard', instance: selected })}>Discard…</button>
              </p>
            </article>
          )}
        </div>
      )}
      <Confirm
        open={askingRefused}
        title={`Discard all ${refused} refused data set(s)?`}
        confirmLabel={`Discard ${refused}`}
        danger
        onAnswer={(yes) => void discardRefused(yes)}
      >
        <p>Every data set refused at intake (it could not be read or names no instance) is deleted from this computer and never uploaded. Instances held for a look at their image stay.</p>
      </Confirm>
      <Confirm
        open={asking !== undefined}
        title={asking?.kind === 'release' ? `Release instance #${asking.instance.instanceId}?` : `Discard instance #${asking?.instance.instanceId ?? ''}?`}
        confirmLabel={asking?.kind === 'release' ? 'Release and upload' : 'Discard'}
        danger={asking?.kind === 'discard'}
        onAnswer={(yes) => void answer(yes)}
      >
        {asking?.kind === 'release'
          ? <p>Release only if the image shows no name, date of birth or other identifying text. The header is de-identified as usual; the pixels are sent as they are.</p>
          : <p>The instance will never be uploaded and its file is deleted from this computer.</p>}
      </Confirm>
    </section>
  );
}
