export { identifyingValuesOf, findResidualPhi, type IdentifyingValue, type OwnValues, type ResidualFinding, type RetainedByPolicy } from './residual-phi';
export { checkOutputFile, ownValues, retainedByPolicy, type WrittenByGateway } from './output-check';
export { pdfText } from './pdf-text';
