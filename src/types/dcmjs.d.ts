// dcmjs ships no type definitions; the gateway uses only its data dictionary.
declare module 'dcmjs' {
  const dcmjs: {
    data: { DicomMetaDictionary: { nameMap: Record<string, { tag: string; vr: string; name: string }> } };
  };
  export default dcmjs;
}
