"""Checks that a `ptm report` page prints without cut-off plots or tables, in headless Chromium.

    python check_print.py REPORT.html OUT.pdf

Drives Chromium over its DevTools pipe (the page itself has no JavaScript): print media at
the width of a printed page (A4 and US Letter less Chromium's default margins: 718 px), then
every plot, table and <pre> must lie within the page's width and show all of its content
(no scrolled-away or clipped part); every plot keeps to one page (break-inside: avoid); and
Page.printToPDF writes a PDF of at least one page. Exit 1 with a message on the first fault.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

PRINT_WIDTH = 718  # 210 mm less 2 x 0.4 in at 96 px per inch (Letter is wider)

MEASURE = """(() => {
  const width = document.documentElement.clientWidth, faults = [];
  const name = el => el.tagName.toLowerCase() + (el.getAttribute('data-title') ? ' "' + el.getAttribute('data-title') + '"'
                                                 : el.className ? '.' + el.className : '');
  for (const el of document.querySelectorAll('svg.plot, table, pre')) {
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.right > width + 0.5) faults.push(name(el) + ' spans x ' + r.left + '..' + r.right + ' of ' + width);
    for (let p = el; p && p !== document.body; p = p.parentElement)
      if (p.scrollWidth > p.clientWidth + 1 && getComputedStyle(p).overflowX !== 'visible')
        { faults.push(name(el) + ' is clipped by ' + name(p) + ' (' + p.scrollWidth + ' > ' + p.clientWidth + ')'); break; }
  }
  for (const f of document.querySelectorAll('figure'))
    if (getComputedStyle(f).breakInside !== 'avoid') faults.push('a figure may break across pages');
  return {width, plots: document.querySelectorAll('svg.plot').length, faults};
})()"""


def fail(msg):
    print("check_print: " + msg, file=sys.stderr)
    sys.exit(1)


class Browser:
    """Chromium with --remote-debugging-pipe: commands on fd 3, replies on fd 4, NUL-separated."""

    def __init__(self, exe, profile):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # in the child: the pipe ends as fds 3 and 4 (dup first: either may be 3 or 4 now)
            r, w = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                      "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"],
                                     close_fds=False, preexec_fn=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_child_r)
        os.close(from_child_w)
        self.next_id, self.buffer, self.events = 0, b"", []

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buffer:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    fail(f"chromium closed its pipe during {method}: {self.proc.stderr.read()[-2000:]}")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    fail(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def close(self):
        try:
            self.call("Browser.close")
        except (SystemExit, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main(page, pdf):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        fail("no chromium on PATH")
    profile = tempfile.mkdtemp(prefix="ptm-print-")
    b = Browser(exe, profile)
    try:
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        s = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        b.call("Page.enable", s)
        b.call("Emulation.setEmulatedMedia", s, media="print")
        b.call("Emulation.setDeviceMetricsOverride", s, width=PRINT_WIDTH, height=1000, deviceScaleFactor=1, mobile=False)
        b.call("Page.navigate", s, url="file://" + os.path.abspath(page))
        for _ in range(600):
            state = b.call("Runtime.evaluate", s, expression="document.readyState", returnByValue=True)
            if state["result"].get("value") == "complete":
                break
        measured = b.call("Runtime.evaluate", s, expression=MEASURE, returnByValue=True)["result"]["value"]
        if measured["faults"]:
            fail("in print layout: " + "; ".join(measured["faults"][:10]))
        if measured["plots"] == 0:
            fail("the page has no plots")
        data = b.call("Page.printToPDF", s, printBackground=False)["data"]
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)
    raw = base64.b64decode(data)
    with open(pdf, "wb") as f:
        f.write(raw)
    pages = raw.count(b"/Type /Page") - raw.count(b"/Type /Pages")
    if not raw.startswith(b"%PDF") or pages < 1:
        fail(f"{pdf} is not a PDF with pages")
    print(json.dumps({"pdf": pdf, "pages": pages, "plots": measured["plots"], "width": measured["width"]}))


if len(sys.argv) != 3:
    fail("usage: check_print.py REPORT.html OUT.pdf")
main(sys.argv[1], sys.argv[2])
