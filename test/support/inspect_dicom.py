"""Independent reader for the tests: pydicom (Debian python3-pydicom) reports what a DICOM file holds.

Usage: /usr/bin/python3 test/support/inspect_dicom.py FILE... ; prints one JSON object keyed by file.
For each file: transfer syntax, selected top-level values, every text value at every depth (private
elements included), every UID at every depth with its path, and a SHA-256 of the raw pixel data bytes.
"""
import hashlib
import json
import sys

import pydicom
from pydicom.dataset import Dataset

TOP = ["PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex", "PatientAge",
       "StudyDate", "SeriesDate", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
       "AccessionNumber", "StudyID", "PatientIdentityRemoved", "DeidentificationMethod",
       "LongitudinalTemporalInformationModified", "InstitutionName", "Modality", "BurnedInAnnotation", "EthnicGroup"]

TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}


def walk(ds: Dataset, prefix: str, texts: list, uids: list):
    for elem in ds:
        if elem.tag == 0x7FE00010:
            continue
        name = elem.keyword or f"({elem.tag.group:04X},{elem.tag.element:04X})"
        path = f"{prefix}{name}"
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                walk(item, f"{path}[{i}].", texts, uids)
            continue
        value = elem.value
        if value is None:
            continue
        if elem.VR in TEXT_VRS:
            values = list(value) if isinstance(value, (list, pydicom.multival.MultiValue)) else [value]
            for v in values:
                s = str(v)
                texts.append({"path": path, "value": s})
                if elem.VR == "UI":
                    uids.append({"path": path, "value": s})
        elif isinstance(value, bytes):
            # Private or unknown elements (UN/OB): their bytes, as Latin-1 text, for leak search.
            texts.append({"path": path, "value": value.decode("latin-1")})


def inspect(path: str) -> dict:
    ds = pydicom.dcmread(path, force=True)
    meta = ds.file_meta if hasattr(ds, "file_meta") else Dataset()
    out = {"transferSyntax": str(getattr(meta, "TransferSyntaxUID", "")), "top": {}, "texts": [], "uids": []}
    for keyword in TOP:
        if keyword in ds:
            value = ds.data_element(keyword).value
            out["top"][keyword] = "\\".join(str(v) for v in value) if isinstance(value, pydicom.multival.MultiValue) else str(value)
    walk(meta, "meta.", out["texts"], out["uids"])
    walk(ds, "", out["texts"], out["uids"])
    if "PixelData" in ds:
        raw = ds.PixelData
        out["pixelSha256"] = hashlib.sha256(raw).hexdigest()
        out["pixelLength"] = len(raw)
    return out


if __name__ == "__main__":
    print(json.dumps({f: inspect(f) for f in sys.argv[1:]}))
