import type { MethodName, MethodOutput, ParsedInput } from '../../../shared/api';
import type { Gateway } from '../gateway';

type ImportMethod = 'startImport' | 'importStatus' | 'pauseImport' | 'resumeImport' | 'cancelImport';
type ImportHandlers = { [M in ImportMethod & MethodName]: (input: ParsedInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

/** The Import screen's and the CLI's methods: a thin layer over the gateway's import service. */
export function importHandlers(gateway: Gateway): ImportHandlers {
  return {
    startImport: ({ path }) => gateway.imports().begin(path),
    importStatus: ({ importId }) => ({ imports: importId === undefined ? gateway.imports().list() : [gateway.imports().progress(importId)] }),
    pauseImport: ({ importId }) => gateway.imports().pause(importId),
    resumeImport: ({ importId }) => gateway.imports().resume(importId),
    cancelImport: ({ importId }) => gateway.imports().cancel(importId),
  };
}
