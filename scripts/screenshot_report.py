"""A PNG of the top of a `ptm report` page as headless Chromium renders it at 1280 px, made
small for the README (a palette of 128 colours, optimised).

    python scripts/screenshot_report.py REPORT.html OUT.png [--height PX]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("page")
p.add_argument("png")
p.add_argument("--height", type=int, default=1600, help="pixels of the page to keep from the top")
a = p.parse_args()
exe = shutil.which("chromium") or shutil.which("chromium-browser")
if not exe:
    sys.exit("screenshot_report: no chromium on PATH (Debian: apt-get install chromium)")
tmp = tempfile.mkdtemp(prefix="ptm-shot-")
try:
    raw = os.path.join(tmp, "raw.png")
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--user-data-dir=" + os.path.join(tmp, "profile"), f"--window-size=1280,{a.height}",
                    "--screenshot=" + raw, "file://" + os.path.abspath(a.page)],
                   check=True, capture_output=True, timeout=180)
    img = Image.open(raw).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    img.save(a.png, optimize=True)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print(f"{a.png}: {os.path.getsize(a.png) // 1024} KB")
