export { createScreeningPool, ScreeningFailed, type ScreeningPool } from './pool';
export type { ScreeningJob, ScreeningOutcome } from './screen-file';
export { identifyingValuesOf } from './identifying';
export { loadCodecs } from './raster';
export { matchingDeviceRules, regionsOf } from './device-rules';
