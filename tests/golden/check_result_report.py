"""Checks the prune and NAS parts of a `ptm report` page against the folders' JSON files.

    python check_result_report.py [--browser PNG] REPORT.html [--prune DIR]... [--search DIR]...

- the page parses as XML and HTML and loads nothing (no <script>, src, href or url(...));
- --prune: the "sparsity per layer" bar chart of the folder holds sparsity.json's layers (the
  bars' data-label/data-value), then "all targets"; structured pruning adds the units kept;
- --search: the front plot holds points.json's feasible points and its front, sorted by the
  cost objective, with maximised (neg_) metrics shown with their own sign, and the random
  baseline's (baseline_points.json) when there is one; the folder's front.svg is the same plot;
- with --browser: headless Chromium renders the page to PNG (1280 px wide) without console
  messages and its DOM holds the same plotted data as the file.
The axes are chosen here as the README says (x: params, macs or latency_ms; y: the first metric),
independently of ptm's code. Exit 1 with a message on the first difference.
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
COSTS = ("params", "macs", "latency_ms")


def fail(msg):
    print("check_result_report: " + msg, file=sys.stderr)
    sys.exit(1)


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-12)


def same_list(got, want, what):
    if len(got) != len(want) or not all(close(a, b) for a, b in zip(got, want)):
        fail(f"{what}: plotted {got}, files {want}")


def load(path):
    with open(path) as f:
        return json.load(f)


def section(root, heading):
    """The elements after <h2>heading</h2> up to the next <h2>."""
    body = root.find("body")
    out, inside, found = [], False, False
    for el in body:
        if el.tag == "h2":
            inside = el.text == heading
            found = found or inside
        elif inside:
            out.append(el)
    if not found:
        fail(f"no section '{heading}'")
    return out


def section_svgs(elements):
    return {svg.get("data-title"): svg for el in elements for svg in el.iter(SVG + "svg")}


def check_prune(root, folder):
    sparsity = load(os.path.join(folder, "sparsity.json"))
    name = os.path.basename(os.path.normpath(folder))
    charts = section_svgs(section(root, "Pruning " + name))
    if "sparsity per layer" not in charts:
        if "units" in sparsity and sparsity["targets"]["sparsity"] == 0:
            return check_units(charts, sparsity, name)  # structured: the units kept are its profile
        fail(f"no 'sparsity per layer' chart for {name}")
    chart = charts["sparsity per layer"]
    bars = [(r.get("data-label"), float(r.get("data-value"))) for r in chart.iter(SVG + "rect") if r.get("data-label")]
    want = [(l["layer"], l["sparsity"]) for l in sparsity["layers"]] + [("all targets", sparsity["targets"]["sparsity"])]
    if [b[0] for b in bars] != [w[0] for w in want]:
        fail(f"sparsity bars {[b[0] for b in bars]}, sparsity.json layers {[w[0] for w in want]}")
    same_list([b[1] for b in bars], [w[1] for w in want], "sparsity per layer")
    return check_units(charts, sparsity, name)


def check_units(charts, sparsity, name):
    for axis, kept in sparsity.get("units", {}).items():
        chart = charts.get(axis + " kept per layer")
        if chart is None:
            fail(f"no '{axis} kept per layer' chart")
        got = [float(r.get("data-value")) for r in chart.iter(SVG + "rect") if r.get("data-label")]
        same_list(got, [float(k) for k in kept], axis + " kept per layer")
    return {"prune": name, "layers": len(sparsity["layers"]), "units": sorted(sparsity.get("units", {}))}


def shown(point, name):
    v = point["objectives"][name]
    return -v if name.startswith("neg_") else v


def series_of(svg):
    out = {}
    for g in svg.iter(SVG + "g"):
        if g.get("data-series") is not None:
            out[g.get("data-series")] = ([float(v) for v in g.get("data-x").split()],
                                         [float(v) for v in g.get("data-y").split()])
    return out


def check_front(svg, points, baseline, label):
    names = points["objectives"]
    x = next((n for n in names if n in COSTS), None)
    y = next((n for n in names if n not in COSTS), None)
    if x is None or y is None:
        x, y = names[0], names[1]
    series = series_of(svg)

    def want(doc, who):
        every = [(shown(p, x), shown(p, y)) for p in doc["evaluated"] if p["feasible"]]
        front = sorted((shown(p, x), shown(p, y)) for p in doc["front"])
        for key, pts in ((who + " (all)", every), (who + " front", front)):
            if key not in series:
                fail(f"{label}: no series '{key}' (series: {sorted(series)})")
            same_list(series[key][0], [p[0] for p in pts], f"{label} '{key}' x ({x})")
            same_list(series[key][1], [p[1] for p in pts], f"{label} '{key}' y ({y})")

    want(points, "NSGA-II")
    if baseline is not None:
        want(baseline, "random search")
    elif any(k.startswith("random search") for k in series):
        fail(f"{label}: a random-search series without baseline_points.json")
    return len(series)


def check_search(root, folder):
    points = load(os.path.join(folder, "points.json"))
    bpath = os.path.join(folder, "baseline_points.json")
    baseline = load(bpath) if os.path.exists(bpath) else None
    name = os.path.basename(os.path.normpath(folder))
    fronts = [s for t, s in section_svgs(section(root, "Architecture search " + name)).items()
              if t and t.startswith("Pareto front")]
    if not fronts:
        fail("no Pareto front plot")
    n = check_front(fronts[0], points, baseline, "report")
    try:
        alone = ET.parse(os.path.join(folder, "front.svg")).getroot()
    except ET.ParseError as e:
        fail(f"front.svg is not well-formed: {e}")
    check_front(alone, points, baseline, "front.svg")
    if series_of(alone) != series_of(fronts[0]):
        fail("front.svg and the report's front plot differ")
    rows = [tr for t in root.iter("table") if t.get("class") == "front" for tr in t.iter("tr")][1:]
    if len(rows) != len(points["front"]):
        fail(f"the front table has {len(rows)} rows, points.json's front {len(points['front'])}")
    return {"search": os.path.basename(os.path.normpath(folder)), "series": n, "baseline": baseline is not None}


class SeriesInDom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.data = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if (tag == "g" and "data-series" in a) or (tag == "rect" and "data-value" in a):
            self.data.append((tag, a.get("data-series") or a.get("data-label"), a.get("data-x"), a.get("data-y"),
                              a.get("data-value")))


def browser(page, png, text):
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
    in_file, in_dom = SeriesInDom(), SeriesInDom()
    in_file.feed(text)
    in_dom.feed(dom.stdout)
    if not in_file.data or in_dom.data != in_file.data:
        fail(f"the browser's DOM holds {len(in_dom.data)} plotted elements, the page {len(in_file.data)} (or other data)")
    from PIL import Image  # pillow comes with torchvision

    if Image.open(png).width != 1280:
        fail("the screenshot is not 1280 px wide")
    return {"screenshot": png, "plotted": len(in_dom.data)}


def main(argv):
    png = None
    if argv[:1] == ["--browser"]:
        png, argv = argv[1], argv[2:]
    if not argv:
        fail(__doc__)
    page, rest = argv[0], argv[1:]
    with open(page, encoding="utf-8") as f:
        text = f.read()
    html.parser.HTMLParser().feed(text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        fail(f"{page} is not well-formed: {e}")
    for el in root.iter():
        if el.tag.split("}")[-1] == "script" or "src" in el.attrib or "href" in el.attrib:
            fail(f"<{el.tag}> loads or runs something: the page must be self-contained")
    if "url(" in text:
        fail("the page loads something through url(...)")
    results = []
    while rest:
        if len(rest) < 2 or rest[0] not in ("--prune", "--search"):
            fail(f"unexpected arguments {rest}")
        results.append(check_prune(root, rest[1]) if rest[0] == "--prune" else check_search(root, rest[1]))
        rest = rest[2:]
    if png:
        results.append(browser(page, png, text))
    print(json.dumps(results))


main(sys.argv[1:])
