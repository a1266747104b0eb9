#!/usr/bin/env python3
"""Opens a fabricctl HTML report in headless Chromium and checks what a reader would see.

Usage: report_browser.py CHROMIUM REPORT.html LINK [LINK...]

Fails (exit 1, reason on stderr) when the page logs anything to the console (reports have
no scripts, so any console line is an error: a blocked resource, a parse error), when the
page requests anything but itself (Chromium's network log, read for requests the page
started), when the rendered screenshot is blank, or when no row of a table in the rendered
DOM names each LINK. Run it in a network namespace with only loopback, so a fetch that
slipped through cannot leave the machine either.
"""
import html.parser
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import zlib

# Chromium's own background fetches (component updates, time) are started by the browser,
# not the page; these switches turn most of them off, the network log check skips the rest.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-extensions", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
    "--virtual-time-budget=3000",
]


def fail(message):
    print(f"report_browser: {message}", file=sys.stderr)
    sys.exit(1)


def run_chromium(chromium, workdir, name, extra, url):
    profile = os.path.join(workdir, f"profile-{name}")
    log = os.path.join(workdir, f"{name}.netlog.json")
    cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={log}", *extra, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        fail(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    # Chromium's own pages (chrome://) log too, e.g. about a font they load; only the
    # report's messages count.
    console = [line for line in done.stderr.splitlines()
               if ":CONSOLE" in line and "source: chrome://" not in line and "source: chrome-" not in line]
    if console:
        fail("console messages:\n" + "\n".join(console))
    check_no_fetches(log)
    return done.stdout


def check_no_fetches(netlog_path):
    events = json.load(open(netlog_path))["events"]
    fetched = set()
    for event in events:
        params = event.get("params", {})
        url = params.get("url", "")
        # A request the page started carries the page's (file://) network isolation key.
        if "file://" in params.get("network_isolation_key", "") and not url.startswith("file:"):
            fetched.add(url)
    # Requests of the page show their URL on the start-job event only; pick up any other
    # event that names a URL off this machine with the page as initiator.
    for event in events:
        params = event.get("params", {})
        if params.get("initiator") in ("null", "file://") and params.get("url", "").split(":")[0] not in (
            "file", "data", "about"):
            fetched.add(params["url"])
    if fetched:
        fail("the page fetched: " + ", ".join(sorted(fetched)))


def png_pixels(path):
    """Rows of RGB(A) tuples of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = pathlib.Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        fail(f"{path}: unexpected PNG format {header}")
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def check_rendered(path):
    width, height, channels, rows = png_pixels(path)
    background = rows[0][:channels]
    colors, inked = set(), 0
    for row in rows:
        for x in range(0, len(row), channels):
            pixel = row[x:x + channels]
            colors.add(pixel)
            inked += pixel != background
    # Text and table rules on a plain background: many shades, and a visible share of ink.
    if len(colors) < 8 or inked < width * height // 2000:
        fail(f"{path}: the page rendered blank ({len(colors)} colours, {inked} of {width * height} pixels inked)")


class TableRows(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.depth, self.current = [], 0, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.depth += 1
        elif tag == "tr" and self.depth:
            self.current = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.depth -= 1
        elif tag == "tr" and self.current is not None:
            self.rows.append(" ".join(self.current))
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current.append(data.strip())


def main():
    chromium, report, links = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
    url = pathlib.Path(report).as_uri()
    with tempfile.TemporaryDirectory() as workdir:
        dom = run_chromium(chromium, workdir, "dom", ["--dump-dom"], url)
        shot = os.path.join(workdir, "page.png")
        run_chromium(chromium, workdir, "shot", [f"--screenshot={shot}", "--window-size=1280,1024"], url)
        check_rendered(shot)
    parser = TableRows()
    parser.feed(dom)
    if not parser.rows:
        fail("the rendered page has no table rows")
    for link in links:
        if not any(link in row for row in parser.rows):
            fail(f"no table row names {link!r}; rows:\n" + "\n".join(parser.rows[:20]))


if __name__ == "__main__":
    main()
