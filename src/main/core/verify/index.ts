export { identifyingValuesOf, findResidualPhi, type IdentifyingValue, type ResidualFinding } from './residual-phi';
