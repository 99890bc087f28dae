export { Crosswalk, type PatientLink, type StudyLink } from './crosswalk';
export { newResearchId, newUid, randomCode } from './ids';
