#!/usr/bin/env python3
"""Reader for R lazy-load databases (<pkg>/data/Rdata.rdx + Rdata.rdb), standard library only.

Implements what ptm's data sets need, and no more:
  * the index `Rdata.rdx`: a gzip/bzip2/xz (or plain) serialized R list with `variables`
    (object name -> c(offset, length) into the .rdb) and `compressed` (1, 2 or 3);
  * one blob of `Rdata.rdb`: a 4-byte big-endian uncompressed length, then for compressed=1 a
    zlib stream, else a type byte: 'Z' raw LZMA2, '2' bzip2, '1' zlib, '0' stored;
  * R's XDR serialization, formats 2 and 3 (header `X\\n`, versions, native encoding for v3)
    for these SEXP types: NULL, symbols and the reference table, pairlists (attributes),
    CHARSXP (NA_STRING, latin1/UTF-8/bytes flags), logical, integer, double, complex, raw,
    character and generic vectors, the global/base/empty environment specials, and ALTREP
    compact sequences and wrappers. Anything else raises RDataError naming the type.

R values become `RObj(kind, value, attrs)`: `value` is a Python list (None for NA) and
`attrs` a dict. A factor is an integer RObj with a `levels` attribute, a data.frame a list
RObj with `names` and `class` attributes.

CLI:
  rdata.py <dir>/data/Rdata --list               object names in the database
  rdata.py <dir>/data/Rdata <object>             summary of one object
  rdata.py <dir>/data/Rdata <object> --out FILE  character vector: one element per line;
      data.frame: TSV with a header (factors as level strings, tab/CR/LF -> one space);
      --columns review=text,score=label picks and renames data.frame columns.
Errors: one line on stderr, exit code 2.
"""
import argparse
import bz2
import gzip
import lzma
import re
import struct
import sys
import zlib

NA_INT = -(2**31)
SPECIALS = {254: "NULL", 253: "globalenv", 252: "unbound", 251: "missingarg",
            250: "basenamespace", 242: "emptyenv", 241: "baseenv"}
VECTOR_KINDS = {10: "logical", 13: "integer", 14: "double", 15: "complex", 16: "character",
                19: "list", 20: "expression", 24: "raw"}
PAIRLIST_TYPES = {2: "pairlist", 6: "call", 17: "dots"}
UNSUPPORTED = {3: "closure", 4: "environment", 5: "promise", 7: "special", 8: "builtin",
               18: "any", 21: "bytecode", 22: "external pointer", 23: "weak reference",
               25: "S4 object", 246: "class reference", 247: "persistent reference",
               248: "package environment", 249: "namespace", 240: "bytecode language object",
               239: "bytecode pairlist"}


class RDataError(Exception):
    pass


class RObj:
    __slots__ = ("kind", "value", "attrs")

    def __init__(self, kind, value=None, attrs=None):
        self.kind, self.value, self.attrs = kind, value, attrs or {}

    def __repr__(self):
        return f"RObj({self.kind}, len={len(self.value) if isinstance(self.value, list) else '-'})"


class Unserializer:
    """Reads one R serialization stream (XDR only, which is all that R writes to these files)."""

    def __init__(self, data, where):
        self.buf, self.pos, self.where, self.refs = data, 0, where, []
        if data[:2] != b"X\n":
            raise RDataError(f"{where}: not an XDR serialization (header {data[:2]!r})")
        self.pos = 2
        self.version = self.int()
        self.int(), self.int()  # R version that wrote it, minimal reader version
        if self.version not in (2, 3):
            raise RDataError(f"{where}: serialization format {self.version} not supported")
        self.native = self.bytes(self.int()).decode("ascii") if self.version == 3 else "UTF-8"

    def bytes(self, n):
        if self.pos + n > len(self.buf):
            raise RDataError(f"{self.where}: truncated stream at byte {self.pos}")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self.bytes(4))[0]

    def length(self):
        n = self.int()
        if n == -1:  # long vector: two 32-bit halves
            hi, lo = struct.unpack(">II", self.bytes(8))
            n = (hi << 32) | lo
        return n

    def charsxp(self, levels):
        n = self.int()
        if n == -1:
            return None  # NA_STRING
        raw = self.bytes(n)
        if levels & 4:  # LATIN1_MASK
            return raw.decode("latin-1")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            if self.native.upper() in ("LATIN1", "ISO-8859-1", "ISO8859-1"):
                return raw.decode("latin-1")
            raise RDataError(f"{self.where}: string at byte {self.pos - n} is not valid UTF-8")

    def item(self):
        flags = self.int()
        t, levels = flags & 0xFF, flags >> 12
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if t in SPECIALS:
            return RObj(SPECIALS[t])
        if t == 255:  # REFSXP: index packed in the flags, or in the next int when 0
            i = flags >> 8 or self.int()
            if not 1 <= i <= len(self.refs):
                raise RDataError(f"{self.where}: bad reference index {i}")
            return self.refs[i - 1]
        if t == 1:  # SYMSXP: a CHARSXP, remembered in the reference table
            sym = RObj("symbol", self.item().value)
            self.refs.append(sym)
            return sym
        if t in PAIRLIST_TYPES:
            return self.pairlist(flags)
        if t == 9:
            return RObj("charsxp", self.charsxp(levels))
        if t == 238:
            return self.altrep()
        if t not in VECTOR_KINDS:
            raise RDataError(f"{self.where}: R object type {t} ({UNSUPPORTED.get(t, 'unknown')})"
                             " is not supported by this reader")
        n = self.length()
        if t in (10, 13):
            vals = struct.unpack(f">{n}i", self.bytes(4 * n))
            if t == 10:
                vals = [None if v == NA_INT else bool(v) for v in vals]
            else:
                vals = [None if v == NA_INT else v for v in vals]
        elif t == 14:
            vals = list(struct.unpack(f">{n}d", self.bytes(8 * n)))
        elif t == 15:
            d = struct.unpack(f">{2 * n}d", self.bytes(16 * n))
            vals = [complex(d[i], d[i + 1]) for i in range(0, 2 * n, 2)]
        elif t == 24:
            vals = list(self.bytes(n))
        elif t == 16:
            vals = [self.item().value for _ in range(n)]
        else:
            vals = [self.item() for _ in range(n)]
        obj = RObj(VECTOR_KINDS[t], list(vals))
        if has_attr:
            obj.attrs = self.attributes()
        return obj

    def pairlist(self, flags):
        """Pairlists iteratively: (attr) (tag) car, then the cdr is the next cell."""
        kind, cells = PAIRLIST_TYPES[flags & 0xFF], []
        while True:
            if flags & (1 << 9):
                self.item()  # attributes on a pairlist cell: not needed
            tag = self.item().value if flags & (1 << 10) else None
            cells.append((tag, self.item()))
            flags = self.int()
            if flags & 0xFF == 254:
                return RObj(kind, cells)
            if flags & 0xFF != 2:
                raise RDataError(f"{self.where}: pairlist ends in type {flags & 0xFF}")

    def attributes(self):
        pl = self.item()
        if pl.kind != "pairlist":
            raise RDataError(f"{self.where}: attributes are a {pl.kind}, not a pairlist")
        return {tag: val for tag, val in pl.value}

    def altrep(self):
        info, state, attr = self.item(), self.item(), self.item()
        cls = info.value[0][1].value if info.kind == "pairlist" else "?"
        if cls in ("compact_intseq", "compact_realseq"):
            n, start, step = state.value[:3]
            vals = [start + i * step for i in range(int(n))]
            obj = RObj("integer" if cls == "compact_intseq" else "double",
                       [int(v) for v in vals] if cls == "compact_intseq" else vals)
        elif cls.startswith("wrap_"):
            obj = RObj(state.value[0].kind, state.value[0].value, state.value[0].attrs)
        else:
            raise RDataError(f"{self.where}: ALTREP class {cls} is not supported by this reader")
        if attr.kind == "pairlist":
            obj.attrs = {tag: val for tag, val in attr.value}
        return obj


def unserialize(data, where):
    return Unserializer(data, where).item()


def decompress_blob(blob, compressed, where):
    """One .rdb blob -> serialized bytes (R_decompress1/2/3)."""
    if len(blob) < 5:
        raise RDataError(f"{where}: blob of {len(blob)} bytes is too short")
    outlen = struct.unpack(">I", blob[:4])[0]
    kind, body = blob[4:5], blob[5:]
    try:
        if compressed == 1 or kind not in (b"Z", b"2", b"1", b"0"):
            out = zlib.decompress(blob[4:])
        elif kind == b"Z":
            # The dictionary must be at least the encoder's; R's presets use <= 64 MiB
            # (modeldata's blobs need 4 MiB), and a larger one decodes the same stream.
            d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW,
                                      filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 26}])
            out = d.decompress(body)
        elif kind == b"2":
            out = bz2.decompress(body)
        elif kind == b"1":
            out = zlib.decompress(body)
        else:
            out = body
    except (zlib.error, lzma.LZMAError, OSError, ValueError) as e:
        raise RDataError(f"{where}: cannot decompress ({kind!r}): {e}") from None
    if len(out) != outlen:
        raise RDataError(f"{where}: decompressed {len(out)} bytes, header says {outlen}")
    return out


def read_maybe_compressed(path):
    with open(path, "rb") as f:
        raw = f.read()
    for magic, fn in ((b"\x1f\x8b", gzip.decompress), (b"BZh", bz2.decompress),
                      (b"\xfd7zXZ", lzma.decompress)):
        if raw.startswith(magic):
            return fn(raw)
    return raw


class LazyLoadDB:
    """`LazyLoadDB('<pkg>/data/Rdata')`: .names(), .get(name)."""

    def __init__(self, base):
        self.base = base
        try:
            index = unserialize(read_maybe_compressed(base + ".rdx"), base + ".rdx")
            self.index = {k: v for k, v in zip(index.attrs["names"].value, index.value)}
            var = self.index["variables"]
            self.vars = {k: v.value for k, v in zip(var.attrs["names"].value, var.value)}
            self.compressed = int(self.index["compressed"].value[0])
        except OSError as e:
            raise RDataError(f"{base}.rdx: {e.strerror}") from None
        except (KeyError, IndexError, AttributeError):
            raise RDataError(f"{base}.rdx: not a lazy-load index (no variables/compressed)") from None

    def names(self):
        return list(self.vars)

    def get(self, name):
        if name not in self.vars:
            raise RDataError(f"{self.base}.rdb: no object '{name}' (have: {', '.join(self.vars)})")
        off, n = (int(x) for x in self.vars[name])
        try:
            with open(self.base + ".rdb", "rb") as f:
                f.seek(off)
                blob = f.read(n)
        except OSError as e:
            raise RDataError(f"{self.base}.rdb: {e.strerror}") from None
        if len(blob) != n:
            raise RDataError(f"{self.base}.rdb: object '{name}' is truncated")
        where = f"{self.base}.rdb[{name}]"
        return unserialize(decompress_blob(blob, self.compressed, where), where)


def classes(obj):
    c = obj.attrs.get("class")
    return c.value if c is not None else []


def as_strings(obj):
    """Character vector, or factor as its level strings."""
    if obj.kind == "character":
        return obj.value
    if obj.kind == "integer" and "levels" in obj.attrs:
        lv = obj.attrs["levels"].value
        return [None if i is None else lv[i - 1] for i in obj.value]
    if obj.kind in ("integer", "double", "logical"):
        return [None if v is None else str(v) for v in obj.value]
    raise RDataError(f"cannot turn a {obj.kind} into strings")


def data_frame_columns(obj):
    if obj.kind != "list" or "data.frame" not in classes(obj):
        raise RDataError(f"object is a {obj.kind} {classes(obj)}, not a data.frame")
    return dict(zip(obj.attrs["names"].value, obj.value))


def clean_cell(s):
    """A TSV cell: NA as "NA", each run of tabs/CR/LF as one space."""
    return "NA" if s is None else re.sub(r"[\t\r\n]+", " ", s)


def write_tsv(obj, path, columns=None):
    cols = data_frame_columns(obj)
    pick = columns or [(k, k) for k in cols]
    for src, _ in pick:
        if src not in cols:
            raise RDataError(f"no column '{src}' (have: {', '.join(cols)})")
    data = [as_strings(cols[src]) for src, _ in pick]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(dst for _, dst in pick) + "\n")
        for row in zip(*data):
            f.write("\t".join(clean_cell(c) for c in row) + "\n")
    return len(data[0]) if data else 0


def write_lines(obj, path):
    if obj.kind != "character":
        raise RDataError(f"object is a {obj.kind}, not a character vector")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for s in obj.value:
            f.write(("NA" if s is None else re.sub(r"[\r\n]+", " ", s)) + "\n")
    return len(obj.value)


def summary(obj):
    n = len(obj.value) if isinstance(obj.value, list) else 0
    out = [f"{obj.kind} [{n}] class={','.join(classes(obj)) or '-'}"]
    if "data.frame" in classes(obj):
        for k, v in data_frame_columns(obj).items():
            lv = v.attrs.get("levels")
            out.append(f"  {k}: {v.kind}" + (f" factor({len(lv.value)} levels)" if lv else ""))
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Read objects from an R lazy-load database.")
    ap.add_argument("db", help="path without extension, e.g. .../janeaustenr/data/Rdata")
    ap.add_argument("object", nargs="?")
    ap.add_argument("--list", action="store_true", help="list object names")
    ap.add_argument("--out", help="write the object (lines or TSV)")
    ap.add_argument("--columns", help="data.frame columns as src=dst,... (TSV only)")
    a = ap.parse_args(argv)
    try:
        db = LazyLoadDB(a.db)
        if a.list or not a.object:
            print("\n".join(db.names()))
            return 0
        obj = db.get(a.object)
        if not a.out:
            print(summary(obj))
        elif obj.kind == "character":
            print(write_lines(obj, a.out))
        else:
            cols = [tuple(c.split("=", 1)) if "=" in c else (c, c)
                    for c in a.columns.split(",")] if a.columns else None
            print(write_tsv(obj, a.out, cols))
        return 0
    except RDataError as e:
        print(f"rdata: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"rdata: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
