import { parentPort } from 'node:worker_threads';
import { createOcrReader, type OcrReader } from './ocr';
import { screenFile, type ScreeningJob } from './screen-file';

// The decoders print what they find odd about a file (values, stack traces) straight to the console, past the
// gateway's redacting logger: nothing in this thread may print.
// eslint-disable-next-line no-console -- silencing the console is the point here
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) console[method] = () => undefined;

/** A screening thread: one OCR engine, one job at a time, asked and answered by message. */
let reader: Promise<OcrReader> | undefined;

parentPort?.on('message', (message: { id: number; job: ScreeningJob } | { close: true }) => {
  if ('close' in message) {
    void (reader ? reader.then((r) => r.close()) : Promise.resolve()).finally(() => parentPort?.close());
    return;
  }
  reader ??= createOcrReader();
  reader
    .then((r) => screenFile(message.job, r))
    .then((outcome) => parentPort?.postMessage({ id: message.id, outcome }))
    .catch((error: Error) => parentPort?.postMessage({ id: message.id, error: { name: error.name, message: error.message } }));
});
