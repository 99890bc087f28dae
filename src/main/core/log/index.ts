export { routeLibraryOutput, describeLibraryMessage } from './library-output';
export { createLogger, redactFields, type Logger, type LogLevel, type LogSink } from './logger';
