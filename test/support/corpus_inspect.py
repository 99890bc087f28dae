"""Independent leak search for the hostile corpus: pydicom (Debian python3-pydicom) and zlib, not the gateway's code.

Usage: /usr/bin/python3 test/support/corpus_inspect.py NEEDLES.json FILE... ; prints one JSON object keyed by file.

NEEDLES.json is a list of {"value", "class"}. For each file it reports:
  texts     every text value at every depth (file meta, private and nested elements included), decoded with the
            file's character sets, with its path ("A[0].B"); binary values as Latin-1
  uids      every UI value with its path
  pixelSha256 / pixelLength   a hash of the Pixel Data element's value, 16-bit words in little-endian order (so a
            big-endian copy of the same pixels hashes the same)
  leaks     every needle found, with where: an element's path, "raw bytes" or "pdf text"

The search normalises both sides: accents and case folded (é→E, ø→O, ß→SS), every separator dropped (so
"23.07.1965", "23 07 1965" and "23071965" are one needle, and "NS-448217-K" is found as "NS448217K"). UID needles
are matched exactly. Raw bytes are the file outside the pixel data value (inflated first for the deflated transfer
syntax), decoded as Latin-1, UTF-8, ISO 2022 (Japanese) and GB18030; PDF text is every Flate stream
inflated plus the PDF's literal, hex and UTF-16 strings.
"""
import hashlib
import json
import re
import sys
import unicodedata
import zlib

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
DEFLATED = "1.2.840.10008.1.2.1.99"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
SPECIAL = {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "œ": "oe", "Œ": "OE"}
UID_NEEDLE = re.compile(r"^\d+(\.\d+){3,}$")


def fold(text):
    text = "".join(SPECIAL.get(c, c) for c in text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(c for c in text.upper() if c.isalnum())


def pdf_text(data):
    """What a PDF reader would show or index: inflated streams, literal strings, hex strings, UTF-16 strings."""
    parts = []
    for m in re.finditer(rb"stream\r?\n", data):
        start = m.end()
        for wbits in (15, -15):
            try:
                parts.append(zlib.decompressobj(wbits).decompress(data[start:]).decode("latin-1"))
                break
            except zlib.error:
                continue
    text = data.decode("latin-1") + "\n" + "\n".join(parts)
    for h in re.findall(r"<([0-9A-Fa-f\s]{4,})>", text):
        raw = bytes.fromhex(re.sub(r"\s", "", h) + ("0" if len(re.sub(r"\s", "", h)) % 2 else ""))
        parts.append(raw[2:].decode("utf-16-be", "ignore") if raw.startswith(b"\xfe\xff") else raw.decode("latin-1"))
    for s in re.findall(r"\(((?:\\.|[^\\)])*)\)", text):
        literal = re.sub(r"\\(.)", r"\1", s)
        parts.append(literal[2:].encode("latin-1").decode("utf-16-be", "ignore") if literal.startswith("\xfe\xff") else literal)
    return "\n".join(parts)


def walk(ds, prefix, texts, uids, binaries):
    for elem in ds:
        if elem.tag == 0x7FE00010:
            continue
        name = elem.keyword or "(%04X,%04X)" % (elem.tag.group, elem.tag.element)
        path = prefix + name
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or []):
                walk(item, "%s[%d]." % (path, i), texts, uids, binaries)
            continue
        value = elem.value
        if value is None or value == "":
            continue
        if elem.VR in TEXT_VRS:
            values = list(value) if isinstance(value, (list, MultiValue)) else [value]
            texts.append({"path": path, "value": "\\".join(str(v) for v in values), "vr": elem.VR})
            if elem.VR == "UI":
                for v in values:
                    uids.append({"path": path, "value": str(v)})
        elif isinstance(value, bytes):
            binaries.append((path, value))
            texts.append({"path": path, "value": value.decode("latin-1"), "vr": elem.VR})


def raw_outside_pixels(path, ds):
    with open(path, "rb") as f:
        data = f.read()
    syntax = str(getattr(getattr(ds, "file_meta", Dataset()), "TransferSyntaxUID", ""))
    if syntax == DEFLATED:
        # The meta group is plain; the dataset after it is raw deflate.
        meta_end = 132 + 12 + int.from_bytes(data[140:144], "little")
        data = data[:meta_end] + zlib.decompressobj(-15).decompress(data[meta_end:])
    pixel = ds.PixelData if "PixelData" in ds else None
    if pixel:
        at = data.rfind(pixel)
        if at >= 0:
            data = data[:at] + data[at + len(pixel):]
    return data


def inspect(path, needles):
    ds = pydicom.dcmread(path, force=True)
    meta = getattr(ds, "file_meta", Dataset())
    syntax = str(getattr(meta, "TransferSyntaxUID", ""))
    texts, uids, binaries = [], [], []
    walk(meta, "meta.", texts, uids, binaries)
    walk(ds, "", texts, uids, binaries)
    out = {"transferSyntax": syntax, "texts": texts, "uids": uids, "leaks": []}
    if "PixelData" in ds:
        raw = ds.PixelData
        if syntax == BIG_ENDIAN and ds.get("BitsAllocated") == 16 and ds["PixelData"].VR == "OW":
            swapped = bytearray(raw)
            swapped[0::2], swapped[1::2] = raw[1::2], raw[0::2]
            raw = bytes(swapped)
        out["pixelSha256"] = hashlib.sha256(raw).hexdigest()
        out["pixelLength"] = len(raw)

    raw = raw_outside_pixels(path, ds)
    # The output's own UIDs are random digits: blanked before the digit-insensitive search of the raw bytes.
    blanked = raw
    for u in sorted({u["value"] for u in uids}, key=len, reverse=True):
        if len(u) > 8:
            blanked = blanked.replace(u.encode("ascii", "ignore"), b" ")
    # Not UTF-16: any two ASCII letters read as UTF-16 are an ideograph, so CJK needles would be found by chance
    # (UTF-16 text is looked for where it occurs, in PDF strings).
    decodings = [blanked.decode(c, "ignore") for c in ("latin-1", "utf-8", "iso2022_jp", "gb18030")]
    raw_folded = [fold(d) for d in decodings] + [fold(pdf_text(raw))]
    raw_plain = raw.decode("latin-1")
    element_folded = [(t["path"], fold(t["value"])) for t in texts if t["vr"] != "UI"]
    for path_, value in binaries:
        if value.startswith(b"%PDF") or b"stream" in value:
            element_folded.append((path_ + " (pdf text)", fold(pdf_text(value))))

    for n in needles:
        value = n["value"]
        found = []
        if UID_NEEDLE.match(value):
            found = [t["path"] for t in texts if value in t["value"]]
            if not found and value in raw_plain:
                found = ["raw bytes"]
        else:
            needle = fold(value)
            found = [p for p, v in element_folded if needle in v]
            if not found and any(needle in r for r in raw_folded):
                found = ["raw bytes"]
        for where in found:
            out["leaks"].append({"value": value, "class": n["class"], "where": where})
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        needle_list = json.load(f)
    result = {}
    for file in sys.argv[2:]:
        try:
            result[file] = inspect(file, needle_list)
        except Exception as error:  # reported, never skipped: the test fails on an unreadable output
            result[file] = {"error": "%s: %s" % (type(error).__name__, error)}
    print(json.dumps(result, ensure_ascii=False))
