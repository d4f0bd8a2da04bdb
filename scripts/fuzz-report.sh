#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The campaign report: from the directories scripts/fuzz-campaign.sh leaves (campaign.env,
# status.log: libFuzzer's status lines with their arrival time), writes into OUT
#   <name>.svg          executions over time: coverage, corpus size and exec/s per second
#   <name>.tsv          the timeline plotted: t(s) execs cov ft corpus exec/s(window)
#                       exec/s(libFuzzer's running average)
#   <name>.log          the campaign's libFuzzer output
#   index.html          a table of every campaign, the plots, and a link to OUT/coverage/
#                       (scripts/fuzz-coverage.sh's llvm-cov report) when it is there
# Only bash and awk: no python, no gnuplot. One process (-fork off) prints edge coverage
# (cov:); with -fork=N libFuzzer prints features in that column, so the plot says "features".
#
# Usage: scripts/fuzz-report.sh [--out DIR] CAMPAIGN_DIR...
#        (default OUT: report/ beside the campaign directories' parent)
set -euo pipefail

out=
dirs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2;;
    -h|--help) sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2;;
    *) dirs+=("$1"); shift;;
  esac
done
[ ${#dirs[@]} -gt 0 ] || { echo "fuzz-report: no campaign directory (--help)" >&2; exit 2; }
[ -n "$out" ] || out=$(dirname "$(dirname "${dirs[0]}")")/report
mkdir -p "$out"

# The value of key $2 in campaign.env $1.
env_get() { sed -n "s/^$2=//p" "$1" | head -n 1; }
html_escape() { sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'; }

# status.log -> timeline: t execs cov ft corpus rate_window rate_avg kind (NEW, pulse, INITED:
# the seeds are loaded, ...; "fork" for -fork lines). The window is 1/20 of the campaign (at
# least 2 s): rates between lines closer than that are too noisy to read.
timeline() {
  local status=$1 start=$2 elapsed=$3
  awk -v start="$start" -v elapsed="$elapsed" '
    {
      t = $1 - start
      n = $2; sub(/^#/, "", n); sub(/:$/, "", n)
      cov = field("cov:"); ft = field("ft:"); corp = field("corp:"); sub(/\/.*/, "", corp)
      avg = field("exec/s:"); if (avg == "") avg = field("exec/s")
      kind = ($2 ~ /:$/) ? "fork" : $3
      k++; T[k] = t; N[k] = n + 0; C[k] = cov; F[k] = ft; P[k] = corp; A[k] = avg; K[k] = kind
    }
    function field(name,   i) {
      for (i = 2; i < NF; i++) if ($i == name) return $(i + 1)
      return ""
    }
    END {
      w = elapsed / 20; if (w < 2) w = 2
      print "t\texecs\tcov\tft\tcorpus\texec_s\texec_s_avg\tkind"
      j = 0; T[0] = 0; N[0] = 0
      for (i = 1; i <= k; i++) {
        while (j + 1 < i && T[i] - T[j + 1] >= w) j++
        rate = (T[i] - T[j] >= w / 2 && T[i] > T[j]) ? (N[i] - N[j]) / (T[i] - T[j]) : ""
        if (rate != "") rate = sprintf("%.0f", rate)
        printf "%.2f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", T[i], N[i], C[i], F[i], P[i], rate, A[i],
               K[i]
      }
    }' "$status"
}

# timeline.tsv -> SVG: three panels over one time axis.
plot() {
  local tsv=$1 title=$2 covname=$3 covcol=$4
  awk -F '\t' -v title="$title" -v covname="$covname" -v covcol="$covcol" '
    NR == 1 { next }
    {
      k++; t[k] = $1; cov[k] = $(covcol); corp[k] = $5; rate[k] = $6
      avg[k] = $7
      if ($8 == "INITED" && inited == "") inited = $1
    }
    function nicestep(range,   raw, mag, r) {
      raw = range / 4; if (raw <= 0) raw = 1
      mag = exp(log(10) * int(log(raw) / log(10) + (raw < 1 ? -1 : 0)))
      r = raw / mag
      r = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag
      return r < 1 ? 1 : r
    }
    # A tick label: thousands as "12k" only when the step is a multiple of 1000.
    function fmt(v, step,   s, r) {
      if (step >= 1000 && v >= 1000) return sprintf("%.0fk", v / 1000)
      s = sprintf("%.0f", v); r = ""
      while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
      return s r
    }
    # One panel: series a (and dashed series b when given), y from 0 or from the data.
    # stairs: the series holds its value until the next line (coverage, corpus size).
    function panel(row, label, a, b, zero, color, stairs,   y0, i, lo, hi, s, v, x, y, d,
                   first) {
      y0 = top + row * (ph + gap)
      lo = -1; hi = 0
      for (i = 1; i <= k; i++) {
        v = a[i]; if (v == "") continue
        if (lo < 0 || v + 0 < lo) lo = v + 0
        if (v + 0 > hi) hi = v + 0
      }
      if (b != "") for (i = 1; i <= k; i++) if (avg[i] != "" && avg[i] + 0 > hi) hi = avg[i] + 0
      if (lo < 0) { lo = 0; hi = 1 }
      if (zero) lo = 0
      s = nicestep(hi - lo)
      lo = int(lo / s) * s; hi = (int(hi / s) + 1) * s
      printf "<text x=\"%d\" y=\"%d\" class=\"label\">%s</text>\n", left, y0 - 6, label
      printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>\n",
             left, y0, pw, ph
      for (v = lo; v <= hi + s / 2; v += s) {
        y = y0 + ph - (v - lo) / (hi - lo) * ph
        printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n",
               left, left + pw, y, y
        printf "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
               left - 5, y + 4, fmt(v, s)
      }
      for (v = 0; v <= tmax + ts / 2; v += ts) {
        x = left + v / tmax * pw
        printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>\n",
               x, x, y0, y0 + ph
      }
      d = ""; first = 1
      for (i = 1; i <= k; i++) {
        if (a[i] == "") continue
        x = left + t[i] / tmax * pw; y = y0 + ph - (a[i] - lo) / (hi - lo) * ph
        if (stairs && !first) d = d sprintf("H%.1f ", x)
        d = d sprintf("%s%.1f,%.1f ", first ? "M" : "L", x, y); first = 0
      }
      if (d != "") printf "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                          d, color
      if (inited != "") {
        x = left + inited / tmax * pw
        printf "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#999\" " \
               "stroke-dasharray=\"2,3\"/>\n", x, x, y0, y0 + ph
        if (row == 0)
          printf "<text x=\"%.1f\" y=\"%d\" class=\"tick\">seeds loaded</text>\n",
                 x + 4, y0 + 14
      }
      if (k == 1 && a[1] != "")
        printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
               left + t[1] / tmax * pw, y0 + ph - (a[1] - lo) / (hi - lo) * ph, color
      if (b != "") {
        d = ""; first = 1
        for (i = 1; i <= k; i++) {
          if (avg[i] == "") continue
          x = left + t[i] / tmax * pw; y = y0 + ph - (avg[i] - lo) / (hi - lo) * ph
          d = d sprintf("%s%.1f,%.1f ", first ? "M" : "L", x, y); first = 0
        }
        if (d != "") printf "<path d=\"%s\" fill=\"none\" stroke=\"#888\" " \
                            "stroke-width=\"1.5\" stroke-dasharray=\"5,4\"/>\n", d
      }
    }
    END {
      W = 760; left = 70; pw = W - left - 20; top = 50; ph = 130; gap = 40
      H = top + 3 * ph + 2 * gap + 45
      tmax = 0; for (i = 1; i <= k; i++) if (t[i] > tmax) tmax = t[i]
      if (tmax <= 0) tmax = 1
      ts = nicestep(tmax); tmax = (int(tmax / ts + 0.999)) * ts
      printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" " \
             "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, H, W, H
      print "<style>.frame{fill:none;stroke:#444}.grid{stroke:#ddd}" \
            ".tick{font-size:11px;fill:#444}.label{font-size:13px;fill:#222}" \
            ".title{font-size:14px;font-weight:bold}</style>"
      printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H
      printf "<text x=\"%d\" y=\"22\" class=\"title\">%s</text>\n", left, title
      panel(0, covname, cov, "", 0, "#1f6fb4", 1)
      panel(1, "corpus (inputs)", corp, "", 0, "#2a9d3f", 1)
      panel(2, "exec/s (solid: over the last window; dashed: libFuzzer\x27s running average)",
            rate, "avg", 1, "#d1495b", 0)
      y = top + 3 * ph + 2 * gap
      for (v = 0; v <= tmax + ts / 2; v += ts)
        printf "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>\n",
               left + v / tmax * pw, y + 15, fmt(v, ts)
      printf "<text x=\"%d\" y=\"%d\" class=\"label\" text-anchor=\"middle\">" \
             "seconds since the campaign started</text>\n", left + pw / 2, y + 35
      print "</svg>"
    }' "$tsv"
}

rows='' sections=''
for dir in "${dirs[@]}"; do
  env=$dir/campaign.env
  [ -f "$env" ] || { echo "fuzz-report: $dir: no campaign.env, skipped" >&2; continue; }
  name=$(env_get "$env" name)
  jobs=$(env_get "$env" jobs)
  elapsed=$(env_get "$env" elapsed)
  timeline "$dir/status.log" "$(env_get "$env" start)" "$elapsed" >"$out/$name.tsv"
  cp "$dir/fuzz.log" "$out/$name.log"
  covname="edge coverage (cov:)" covcol=3
  if [ "$jobs" -gt 1 ]; then
    covname="coverage features (ft:; -fork=$jobs prints no edge count)" covcol=4
  fi
  last_rate=$(awk -F '\t' 'NR > 1 && $6 != "" { r = $6 } END { print r }' "$out/$name.tsv")
  execs=$(env_get "$env" execs)
  rate=$(env_get "$env" exec_per_s)
  edges=$(env_get "$env" corpus_edges)
  corpus="$(env_get "$env" seeds) &rarr; $(env_get "$env" corpus_end)"
  min=$(env_get "$env" corpus_min)
  [ -z "$min" ] || corpus="$corpus &rarr; $min"
  cov="$(env_get "$env" cov_start) &rarr; $(env_get "$env" cov_end)"
  [ -n "$(env_get "$env" cov_start)" ] || cov="n/a (-fork)"
  ft="$(env_get "$env" ft_start) &rarr; $(env_get "$env" ft_end)"
  status=$(env_get "$env" status)
  title="$name: $execs executions in ${elapsed} s, $jobs job(s), $rate exec/s on average"
  plot "$out/$name.tsv" "$title" "$covname" "$covcol" >"$out/$name.svg"
  rows="$rows<tr><td><a href=\"#$name\">$name</a></td><td>$jobs</td><td>$elapsed</td>"
  rows="$rows<td>$execs</td><td>$rate</td><td>${last_rate:-}</td><td>$cov</td><td>$ft</td>"
  rows="$rows<td>${edges:-}</td><td>$corpus</td><td class=\"$status\">$status</td></tr>"$'\n'
  sections="$sections<h2 id=\"$name\">$name</h2>"$'\n'
  sections="$sections<p>binary <code>$(env_get "$env" binary | html_escape)</code>, seeds"
  sections="$sections <code>$(env_get "$env" corpus_src | html_escape)</code>;"
  sections="$sections <a href=\"$name.log\">libFuzzer output</a>,"
  sections="$sections <a href=\"$name.tsv\">timeline</a></p>"$'\n'
  sections="$sections<img src=\"$name.svg\" alt=\"$name over time\">"$'\n'
done

coverage="<p>No source coverage report: <code>make fuzz-report</code> (or"
coverage="$coverage <code>scripts/fuzz-coverage.sh</code>) writes one into coverage/.</p>"
if [ -f "$out/coverage/index.html" ]; then
  coverage="<p><a href=\"coverage/index.html\">Source coverage of the corpora</a> (llvm-cov:"
  coverage="$coverage every line, region and branch the corpora replayed reach; red is"
  coverage="$coverage never reached).</p>"
  if [ -f "$out/coverage/summary.txt" ]; then
    coverage="$coverage<pre>$(html_escape <"$out/coverage/summary.txt")</pre>"
  fi
fi

cat >"$out/index.html" <<EOF
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Fuzzing campaign report</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 70em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 8px; }
td { text-align: right; } td:first-child { text-align: left; }
.ok { color: #2a7d2a; } .crash, .merge_failed { color: #c02020; font-weight: bold; }
pre { font-size: 12px; background: #f6f6f6; padding: 1em; overflow-x: auto; }
</style></head><body>
<h1>Fuzzing campaign report</h1>
<p>Written $(date -u '+%Y-%m-%d %H:%M UTC') by scripts/fuzz-report.sh. exec/s: average
over the campaign and over its last window (1/20 of it, at least 2 s); cov: edges when the
seeds were loaded and at the end (one process only); ft: libFuzzer's features; corpus edges:
the edges the final corpus reaches (from the minimizing merge); corpus: seeds &rarr; after
the campaign &rarr; minimized.</p>
<table>
<tr><th>target</th><th>jobs</th><th>seconds</th><th>executions</th><th>exec/s</th>
<th>exec/s (last window)</th><th>cov</th><th>ft</th><th>corpus edges</th><th>corpus</th>
<th>result</th></tr>
$rows</table>
<h2>Source coverage</h2>
$coverage
$sections
</body></html>
EOF
echo "fuzz-report: $out/index.html"
