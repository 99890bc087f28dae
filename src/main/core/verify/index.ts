export { identifyingValuesOf, findResidualPhi, type IdentifyingValue, type ResidualFinding, type RetainedByPolicy } from './residual-phi';
export { checkOutputFile, retainedByPolicy } from './output-check';
