export { JobStore, type InstanceJob } from './job-store';
