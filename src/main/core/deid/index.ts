export { readIdentity, MissingAttributeError, type InstanceIdentity } from './identity';
export { deidentifyDataset, enabledOptions, methodCodes, describeMethod, DeidentificationError, type DeidContext, type DeidResult } from './deidentify';
export { resolveAction, resolveCode, profileRowFor, profileRows, actionForCode, attributeTypeAt, PROFILE_SOURCE, type ActionCode, type ProfileAction, type ProfileOption, type ProfileRow } from './profile';
export { burnedInTextRisk } from './burned-in';
export { SafePrivateFilter } from './safe-private';
export { deidPolicy, describePolicy, POLICY_SCHEMA, type DeidPolicy, type PolicyDescription } from './policy';
export { collectIdentifyingValues, type IdentifyingValues } from './identifying-values';
export { DescriptorCleaner, isDescriptorWord } from './descriptor-cleaner';
