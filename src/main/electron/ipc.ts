import type { IpcMain, WebContents } from 'electron';
import { METHOD_NAMES, type ApiResult } from '../../shared/api';
import { channelOf, CHOOSE_FOLDER_CHANNEL, EVENT_CHANNEL } from '../../shared/bridge';
import type { ApiDispatcher } from '../core/api';
import { isTrustedSender } from './security';

/**
 * Serves the contract over IPC: each request's sender is checked (the app page, top-level frame), then the
 * shared dispatcher validates the input with the contract's schema, exactly as over HTTP.
 */
export function registerIpc(
  ipc: Pick<IpcMain, 'handle'>,
  dispatcher: ApiDispatcher,
  appUrl: string,
  target: () => WebContents | undefined,
  warn: (message: string) => void,
  /** The native folder dialog for the Import screen (electron's dialog.showOpenDialog, given by main.ts). */
  chooseFolder?: () => Promise<string | null>,
): () => void {
  if (chooseFolder) {
    ipc.handle(CHOOSE_FOLDER_CHANNEL, async (event): Promise<string | null> => {
      if (!isTrustedSender(event.senderFrame, appUrl)) {
        warn('refused a folder dialog request from a page that is not the app');
        return null;
      }
      return chooseFolder();
    });
  }
  for (const method of METHOD_NAMES) {
    ipc.handle(channelOf(method), async (event, input: unknown): Promise<ApiResult<unknown>> => {
      if (!isTrustedSender(event.senderFrame, appUrl)) {
        warn(`refused a ${method} request from a page that is not the app`);
        return { ok: false, error: { code: 'refused', message: 'Request refused: it does not come from the gateway window' } };
      }
      return dispatcher.call(method, input);
    });
  }
  return dispatcher.subscribe((message) => {
    const contents = target();
    if (contents && !contents.isDestroyed()) contents.send(EVENT_CHANNEL, message);
  });
}
