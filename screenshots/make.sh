#!/usr/bin/env bash
# Regenerate the README screenshots from the real program: the release
# binary runs on the demo data inside tmux, each screen is captured with its
# colours (tmux capture-pane -e), turned into HTML by aha and rendered to PNG
# by headless Chromium with DejaVu Sans Mono. Run from anywhere:
#   screenshots/make.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
cols=140
rows=42

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v aha >/dev/null || need+=(aha)
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -q "DejaVu Sans Mono" || need+=(fonts-dejavu-core)
if ((${#need[@]})); then
    echo "installing ${need[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The same build directory as .ci/run, so polars is not compiled twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quarry-target}"
(cd "$root" && cargo build --release --quiet)
bin="$CARGO_TARGET_DIR/release/quarry"

work="$(mktemp -d)"
sock="$work/tmux.sock"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" demo --dir "$work" --rows 4000000 --no-tui >/dev/null
# Small partitions make a fuller grid.
sed -i 's/blocksize = "16MiB"/blocksize = "4MiB"/' "$work/arcos.toml"

tmux -S "$sock" new-session -d -c "$work" -s shots -x "$cols" -y "$rows" \
    "TERM=xterm-256color $bin arcos.csv --blocksize 4MiB --dtype BUYER_ZIP=str --theme dark --no-mouse"

screen() { tmux -S "$sock" capture-pane -p -t shots; }
keys() { tmux -S "$sock" send-keys -t shots "$@"; }
wait_for() {
    for _ in $(seq 1 600); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    echo "never saw: $1" >&2
    screen >&2
    exit 1
}

# capture NAME: the current screen as screenshots/NAME.png
capture() {
    local html="$work/$1.html"
    {
        echo '<!doctype html><meta charset="utf-8"><style>'
        echo 'body{margin:0;background:#1c1c1c}'
        echo 'pre{margin:0;padding:10px;font:15px/1.2 "DejaVu Sans Mono",monospace;color:#d0d0d0;background:#1c1c1c}'
        echo '</style><pre>'
        tmux -S "$sock" capture-pane -e -p -t shots | aha --no-header --black
        echo '</pre>'
    } >"$html"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/chrome" --hide-scrollbars \
        --window-size=1300,"$((rows * 18 + 20))" \
        --screenshot="$here/$1.png" "file://$html" >/dev/null 2>&1
    echo "wrote screenshots/$1.png"
}

wait_for "REPORTER_DEA_NO"
keys l l l l l j j j
sleep 0.5
capture table

keys ":" "e arcos.toml" Enter
wait_for "recipe loaded"
# A derived column on the source rows (step 0), with a typo in a name.
keys Tab g Tab
sleep 0.5
keys "="
wait_for "new column"
keys C-a C-k "mme = CALC_BASE_WT_IN_GM * MME_Conversion_Factr" Enter
wait_for "MME_Conversion_Factor"
capture pipeline-error
keys Escape
sleep 0.3
keys Tab G Tab

keys 4
wait_for "planned"
capture graph

keys c
wait_for "progress · compute on local · running"
# The demo job takes well under a second now: catch it mid-run.
sleep 0.25
capture progress

wait_for "result · "
capture result

# Describe the source rows (step 0), then the DOSAGE_UNIT histogram on a log scale.
keys Tab g Tab
sleep 0.5
keys I
wait_for "describe · all rows"
capture describe
keys j j j j j j j j H
wait_for "histogram of DOSAGE_UNIT · all rows"
keys L
wait_for "(log scale) · all rows"
capture histogram

# The table at the source rows: the record view of the fourth row, whole.
keys 1
sleep 0.3
keys g j j j 0 space
wait_for "record 4 of"
capture record

# The frequency sheet of DRUG_NAME over all rows.
keys space 0 l l l l l l F
wait_for "frequencies of DRUG_NAME · all rows"
capture frequency

# A scatter of the computed group-by: shipments against grams per county.
keys 6
wait_for "result · "
keys ":" "chart scatter shipments morphine_equivalent_g" Enter
wait_for "scatter chart"
capture chart

