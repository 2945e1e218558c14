"""Checks a `ptm report` page against the runs' metrics.jsonl, with Python's own parsers.

    python check_report.py REPORT.html DIFF_KEY RUN_DIR [RUN_DIR ...]

- well-formed: the whole page parses as XML (xml.etree) and as HTML (html.parser);
- self-contained: no <script>, no src/href attributes, no url(...) in styles;
- each run's curves (data-x/data-y of the SVG series) are its metrics.jsonl values;
- the table's final train loss is each run's last logged loss;
- the recipe differences name DIFF_KEY ("-" when the runs' recipes are the same).
Exit 1 with a message on the first difference.
"""
import html.parser
import json
import math
import os
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("check_report: " + msg, file=sys.stderr)
    sys.exit(1)


def records(run_dir):
    train, evals = {}, {}
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            (evals if rec.get("split") == "val" else train if "split" not in rec else {})[rec["step"]] = rec
    return train, evals


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-300)


def main(page, diff_key, run_dirs):
    with open(page, encoding="utf-8") as f:
        text = f.read()
    html.parser.HTMLParser().feed(text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        fail(f"{page} is not well-formed: {e}")
    for el in root.iter():
        if el.tag.split("}")[-1] == "script":
            fail("the page has a <script>")
        for attr in ("src", "href"):
            if attr in el.attrib:
                fail(f"<{el.tag}> has {attr}={el.attrib[attr]!r}: the page must be self-contained")
    if "url(" in text:
        fail("the page loads something through url(...)")

    plots = {svg.get("data-title"): svg for svg in root.iter(SVG + "svg")}
    for needed in ("training loss", "evaluation loss", "learning rate", "throughput"):
        if needed not in plots:
            fail(f"no plot '{needed}' (plots: {sorted(plots)})")

    def series(title, name):
        for g in plots[title].iter(SVG + "g"):
            if g.get("data-series") == name:
                xs = [float(v) for v in g.get("data-x").split()]
                ys = [float(v) for v in g.get("data-y").split()]
                return xs, ys
        fail(f"plot '{title}' has no series '{name}'")

    rows = {tr.get("data-key"): tr for tr in root.iter("tr") if tr.get("data-key")}
    for i, run_dir in enumerate(run_dirs):
        name = os.path.basename(os.path.normpath(run_dir))
        train, evals = records(run_dir)
        for title, recs, key in (("training loss", train, "loss"), ("learning rate", train, "lr"),
                                 ("evaluation loss", evals, "eval_loss")):
            xs, ys = series(title, name)
            want = [(s, r[key]) for s, r in sorted(recs.items()) if r.get(key) is not None]
            if [int(x) for x in xs] != [s for s, _ in want]:
                fail(f"{name} '{title}': steps {xs}, metrics.jsonl {[s for s, _ in want]}")
            for (s, v), y in zip(want, ys):
                if not close(v, y):
                    fail(f"{name} '{title}' at step {s}: plotted {y}, metrics.jsonl {v}")
        cells = rows["train_loss"].findall("td")[1:]
        last = train[max(train)]["loss"]
        if not close(float(cells[i].get("data-value")), last):
            fail(f"{name}: final train loss in the table {cells[i].get('data-value')}, metrics.jsonl {last}")

    diff = [t for t in root.iter("table") if t.get("class") == "recipe-diff"]
    if diff_key == "-":
        if diff:
            fail("a recipe-difference table for runs with the same recipe")
    else:
        if not diff:
            fail("no recipe-difference table")
        keys = [code.text for code in diff[0].iter("code")]
        if diff_key not in keys:
            fail(f"recipe differences {keys} do not name {diff_key}")
    print(json.dumps({"plots": sorted(plots), "runs": len(run_dirs)}))


if len(sys.argv) < 4:
    fail("usage: check_report.py REPORT.html DIFF_KEY RUN_DIR [RUN_DIR ...]")
main(sys.argv[1], sys.argv[2], sys.argv[3:])
