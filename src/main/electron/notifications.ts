import type { InstanceEvent } from '../../shared/domain';

export interface DesktopNotice {
  title: string;
  body: string;
}

/** Notices of the same kind within this window are merged into one ("3 instances failed"). */
export const NOTICE_BATCH_MS = 5_000;

/**
 * Turns gateway events into desktop notifications for what needs a person (failed uploads, instances held for
 * review), batched so a failing study raises one notice, not one per image. The text carries counts only:
 * notifications show on a locked screen, so never a name, an ID or a reason that could quote one.
 */
export class NoticePlanner {
  private failed = 0;
  private held = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly show: (notice: DesktopNotice) => void,
    private readonly schedule: (fn: () => void, ms: number) => ReturnType<typeof setTimeout> = setTimeout,
  ) {}

  onInstance(event: InstanceEvent): void {
    if (event.state === 'failed') this.failed += 1;
    else if (event.state === 'held') this.held += 1;
    else return;
    this.timer ??= this.schedule(() => this.flush(), NOTICE_BATCH_MS);
  }

  /** Shows what has gathered since the last notice. */
  flush(): void {
    this.timer = undefined;
    const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
    if (this.failed > 0) {
      this.show({ title: 'Upload failed', body: `${plural(this.failed, 'instance')} could not be sent to the research server. Open the gateway to see why and resend.` });
    }
    if (this.held > 0) {
      this.show({ title: 'Held for review', body: `${plural(this.held, 'instance')} held back before upload. Open the review list to check them.` });
    }
    this.failed = 0;
    this.held = 0;
  }
}
