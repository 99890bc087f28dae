export { JobStore, type InstanceJob, type DeidentifiedOutput, type DeliveryRecord, type DeliveredInstance, type HoldDetail } from './job-store';
