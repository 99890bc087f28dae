import { useEffect, useRef, type ReactNode } from 'react';

/** A modal question with two answers; Escape or "Cancel" says no. Focus starts on Cancel, the safe answer. */
export function Confirm({ open, title, children, confirmLabel, danger, onAnswer }: {
  open: boolean; title: string; children: ReactNode; confirmLabel: string; danger?: boolean; onAnswer: (yes: boolean) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); onAnswer(false); }}>
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <p className="actions">
        <button type="button" autoFocus onClick={() => onAnswer(false)}>Cancel</button>
        <button type="button" className={danger ? 'danger' : 'primary'} onClick={() => onAnswer(true)}>{confirmLabel}</button>
      </p>
    </dialog>
  );
}
