#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium at 1280 px wide, saves a screenshot of its top
# and checks the layout a reader meets first (docs/results.md, "How to check a report"):
#
#   scripts/report_screenshot.sh RUN_DIR [OUT.png]     # OUT.png defaults to RUN_DIR/report_top.png
#
# Prints one line `scrollWidth=… firstFigureTop=… firstTableTop=… tableBeforeFigure=… figures=…
# tables=… sidewaysTables=… summary=…` (positions in px from the top of the page; -1: none;
# sidewaysTables: open tables too wide for the page, which scroll inside their container) and exits
#   0  when the page is no wider than the window and the first figure comes before the first
#      table outside the summary (the summary's short tables are meant to come first);
#   1  when either check fails (the reason is printed);
#   2  on a usage error or when Chromium is missing or fails.
#
# Environment (defaults in brackets):
#   CHROMIUM [chromium]   the browser (Debian: apt-get install chromium)
#   WIDTH [1280]          window width, px; the overflow limit
#   HEIGHT [1600]         screenshot height, px
#   SCALE [1]             device scale factor of the screenshot (0.5 halves its pixels, e.g. for
#                         docs/report_top.png); the measurement always uses 1
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    sed -n '2,20p' "$0" >&2
    exit 2
fi
RUN_DIR=$1
OUT=${2:-$RUN_DIR/report_top.png}
CHROMIUM=${CHROMIUM:-chromium}
WIDTH=${WIDTH:-1280}
HEIGHT=${HEIGHT:-1600}
SCALE=${SCALE:-1}

REPORT=$RUN_DIR/report.html
if [[ ! -f $REPORT ]]; then
    echo "report_screenshot: no report.html in $RUN_DIR" >&2
    exit 2
fi
if ! command -v "$CHROMIUM" >/dev/null; then
    echo "report_screenshot: $CHROMIUM not found (Debian: apt-get install chromium)" >&2
    exit 2
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Chromium refuses to run as root with its sandbox; a local file needs none.
FLAGS=(--headless --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$TMP/profile")
if [[ $(id -u) == 0 ]]; then
    FLAGS+=(--no-sandbox)
fi

# The measurement runs inside the page once its images have loaded (their size sets the layout)
# and writes its answer into the DOM, which --dump-dom prints. Tables in a closed <details> have
# no box, so the order check uses document order, not positions.
MEASURE='<script>
window.addEventListener("load", () => {
  const top = (e) => e ? Math.round(e.getBoundingClientRect().top + window.scrollY) : -1;
  const figure = document.querySelector("figure");
  const table = [...document.querySelectorAll("table")].find((t) => !t.closest("#summary"));
  const tableFirst = !!(table && (!figure ||
      (table.compareDocumentPosition(figure) & Node.DOCUMENT_POSITION_FOLLOWING)));
  const out = document.createElement("pre");
  out.id = "report-measure";
  out.textContent = [
    "scrollWidth=" + document.documentElement.scrollWidth,
    "firstFigureTop=" + top(figure),
    "firstTableTop=" + top(table),
    "tableBeforeFigure=" + tableFirst,
    "figures=" + document.querySelectorAll("figure").length,
    "tables=" + document.querySelectorAll("table").length,
    "sidewaysTables=" + [...document.querySelectorAll(".scroll")]
        .filter((d) => d.scrollWidth > d.clientWidth).length,
    "summary=" + !!document.getElementById("summary"),
  ].join(" ");
  document.body.appendChild(out);
});
</script>'
PAGE=$TMP/report.html
python3 - "$REPORT" "$PAGE" "$MEASURE" <<'EOF'
import sys
src, dst, script = sys.argv[1:]
html = open(src, encoding="utf-8").read()
at = html.rfind("</body>")
if at < 0:
    sys.exit("report_screenshot: report.html has no </body>")
open(dst, "w", encoding="utf-8").write(html[:at] + script + html[at:])
EOF

if ! "$CHROMIUM" "${FLAGS[@]}" --window-size="$WIDTH,$HEIGHT" --virtual-time-budget=10000 \
    --dump-dom "file://$PAGE" >"$TMP/dom.html" 2>"$TMP/chromium.log"; then
    cat "$TMP/chromium.log" >&2
    echo "report_screenshot: chromium failed to render $REPORT" >&2
    exit 2
fi
LINE=$(sed -n 's/.*<pre id="report-measure">\([^<]*\)<\/pre>.*/\1/p' "$TMP/dom.html")
if [[ -z $LINE ]]; then
    cat "$TMP/chromium.log" >&2
    echo "report_screenshot: the page did not report its measurements" >&2
    exit 2
fi

# The screenshot is of the report itself, without the measuring script.
if ! "$CHROMIUM" "${FLAGS[@]}" --window-size="$WIDTH,$HEIGHT" --force-device-scale-factor="$SCALE" \
    --virtual-time-budget=10000 --screenshot="$OUT" "file://$(realpath "$REPORT")" \
    >"$TMP/shot.log" 2>&1; then
    cat "$TMP/shot.log" >&2
    echo "report_screenshot: chromium failed to take the screenshot" >&2
    exit 2
fi

echo "$LINE screenshot=$OUT"
value() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$LINE"; }
status=0
if (($(value scrollWidth) > WIDTH)); then
    echo "report_screenshot: FAIL: the page is $(value scrollWidth) px wide, over the $WIDTH px window (horizontal overflow)" >&2
    status=1
fi
if [[ $(value tableBeforeFigure) == true ]]; then
    echo "report_screenshot: FAIL: a table outside the summary comes before the first figure" >&2
    status=1
fi
exit $status
