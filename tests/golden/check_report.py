"""Checks a `ptm report` page against the runs' metrics.jsonl, with Python's own parsers.

    python check_report.py [--browser PNG] REPORT.html DIFF_KEY RUN_DIR [RUN_DIR ...]

- well-formed: the whole page parses as XML (xml.etree) and as HTML (html.parser);
- self-contained: no <script>, no src/href attributes, no url(...) in styles;
- each run's curves (data-x/data-y of the SVG series) are its metrics.jsonl values;
- the table's final train loss is each run's last logged loss, its best eval loss, perplexity
  (lowest) and accuracy (highest) the runs' best;
- the recipe differences name DIFF_KEY ("-" when the runs' recipes are the same);
- with --browser: headless Chromium renders the page to PNG (1280 px wide) without console
  messages, its DOM holds the same series data as the file, and each run's colour is drawn.
Exit 1 with a message on the first difference.
"""
import html.parser
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
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
        for metric in ("loss", "perplexity", "accuracy"):  # lower, lower, higher is better
            values = [r["eval_" + metric] for r in evals.values() if r.get("eval_" + metric) is not None]
            if values and "best_eval_" + metric in rows:
                best = (max if metric == "accuracy" else min)(values)
                got = float(rows["best_eval_" + metric].findall("td")[1:][i].get("data-value"))
                if not close(got, best):
                    fail(f"{name}: best eval {metric} in the table {got}, metrics.jsonl {best}")
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
    drawn = [(g.get("data-series"), g.get("data-x"), g.get("data-y"), g.get("stroke"))
             for g in root.iter(SVG + "g") if g.get("data-series") is not None]
    print(json.dumps({"plots": sorted(plots), "runs": len(run_dirs)}))
    return drawn


class SeriesInDom(html.parser.HTMLParser):
    """The data-series groups of a DOM dump, as the browser parsed them."""

    def __init__(self):
        super().__init__()
        self.series = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "g" and "data-series" in a:
            self.series.append((a["data-series"], a.get("data-x"), a.get("data-y"), a.get("stroke")))


def browser(page, png, drawn, run_count):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        fail("no chromium on PATH")
    profile = tempfile.mkdtemp(prefix="ptm-chromium-")
    try:
        base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
                "--v=0", "--user-data-dir=" + profile, "--window-size=1280,2400"]
        url = "file://" + os.path.abspath(page)
        shot = subprocess.run(base + ["--screenshot=" + png, url], capture_output=True, text=True, timeout=180)
        dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if shot.returncode != 0 or not os.path.exists(png):
        fail(f"chromium did not write {png}: {shot.stderr[-2000:]}")
    console = [l for l in (shot.stderr + dom.stderr).splitlines() if ":CONSOLE" in l]
    if console:
        fail("console messages while rendering: " + "; ".join(console))
    parser = SeriesInDom()
    parser.feed(dom.stdout)
    if parser.series != drawn:
        fail(f"the browser's DOM holds {len(parser.series)} series, not the page's {len(drawn)} (or other data)")
    from PIL import Image  # pillow comes with torchvision

    img = Image.open(png).convert("RGB")
    if img.width != 1280:
        fail(f"screenshot is {img.width} px wide")
    counts = {c: n for n, c in img.getcolors(maxcolors=1 << 24)}
    colours = []
    for _, _, _, stroke in drawn:
        if stroke not in colours:
            colours.append(stroke)
    for colour in colours[:run_count]:
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        # The legend swatches and lines alone are a few hundred pixels; curves add more.
        if counts.get(rgb, 0) < 400:
            fail(f"colour {colour} covers {counts.get(rgb, 0)} pixels of the screenshot")
    print(json.dumps({"screenshot": png, "series": len(drawn)}))


args = sys.argv[1:]
png = None
if args[:1] == ["--browser"]:
    png, args = args[1], args[2:]
if len(args) < 3:
    fail("usage: check_report.py [--browser PNG] REPORT.html DIFF_KEY RUN_DIR [RUN_DIR ...]")
drawn = main(args[0], args[1], args[2:])
if png:
    browser(args[0], png, drawn, len(args) - 2)
