export { Crosswalk, type PatientLink, type StudyLink } from './crosswalk';
export { CrosswalkReader, type CrosswalkFilter, type CrosswalkPatient, type CrosswalkRow, type CrosswalkScope, type CrosswalkStudy } from './crosswalk-reader';
export { newResearchId, newUid, randomCode } from './ids';
