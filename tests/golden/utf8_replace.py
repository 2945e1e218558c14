# Reference for invalid UTF-8 in `ptm data prepare`: for each file given, Python's own
# decoding with errors="replace" (Unicode's recommended practice for maximal invalid
# subsequences). Prints one JSON line per file: the replaced text as hex, how many U+FFFD the
# replacement introduced, and the 1-based byte of the first invalid sequence (0: valid).
# jsonl files are decoded line by line and the "text" field taken, as prepare reads records.
import json
import sys

for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    if path.endswith(".jsonl"):
        lines = [l for l in raw.split(b"\n") if l]
        texts = [json.loads(l.decode("utf-8", "replace"))["text"] for l in lines]
        bad = [l for l in lines if l.decode("utf-8", "replace").count("\ufffd") > 0]
        print(json.dumps({"path": path, "docs": [t.encode().hex() for t in texts],
                          "invalid_docs": len(bad),
                          "sequences": sum(l.decode("utf-8", "replace").count("\ufffd") for l in lines)}))
        continue
    text = raw.decode("utf-8", "replace")
    try:
        raw.decode("utf-8")
        first = 0
    except UnicodeDecodeError as e:
        first = e.start + 1
    print(json.dumps({"path": path, "docs": [text.encode().hex()], "invalid_docs": 1 if first else 0,
                      "sequences": text.count("\ufffd"), "first": first}))
