export { readIdentity, MissingAttributeError, type InstanceIdentity } from './identity';
export { deidentifyDataset, enabledOptions, type DeidContext, type DeidResult } from './deidentify';
export { resolveAction, profileRowFor, profileRows, actionForCode, PROFILE_SOURCE, type ProfileAction, type ProfileOption, type ProfileRow } from './profile';
