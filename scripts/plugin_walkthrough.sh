#!/usr/bin/env bash
# Follows the plugin walkthrough of docs/plugins.md word by word in a fresh clone of this
# repository and times each step: the doc's `sh` blocks between its "## Walkthrough" heading
# and the next "## " heading, in order, nothing else. A block that fails stops the script.
#
#   scripts/plugin_walkthrough.sh          # from anywhere; clones HEAD into a temporary directory
#
# WORK [a fresh temporary directory] holds the clone (its own target/, so the build is clean)
# and steps.sh, the commands as they were run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/plugin_walkthrough.XXXXXX)}
unset CARGO_TARGET_DIR
git clone --quiet "$repo" "$WORK/clone"
cd "$WORK/clone"

python3 - docs/plugins.md >"$WORK/steps.sh" <<'PY'
import re, shlex, sys
text = open(sys.argv[1]).read()
section = text[text.index("\n## Walkthrough"):]
section = section[:section.index("\n## ", 1)]
blocks = re.findall(r"^( *)```sh\n(.*?)^\1```", section, flags=re.S | re.M)
print("set -euo pipefail")
for i, (indent, body) in enumerate(blocks, 1):
    lines = [l[len(indent):] if l.startswith(indent) else l for l in body.splitlines()]
    print(f"echo {shlex.quote(f'## block {i}: {lines[0][:70]}')}; start=$(date +%s)")
    print("\n".join(lines))
    print(f'echo "## block {i}: $(( $(date +%s) - start )) s"')
PY

echo "# $(uname -srm); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "# start: $(uptime)"
start=$(date +%s)
bash "$WORK/steps.sh"
echo "# walkthrough: $(( $(date +%s) - start )) s in all; end: $(uptime)"
echo "# clone and steps: $WORK"
