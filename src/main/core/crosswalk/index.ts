export { Crosswalk, type PatientLink, type StudyLink } from './crosswalk';
export { CrosswalkReader, type CrosswalkFilter, type CrosswalkPatient, type CrosswalkRow, type CrosswalkStudy } from './crosswalk-reader';
export { newResearchId, newUid, randomCode } from './ids';
