#!/usr/bin/env bash
# sweep_figures.sh SWEEP_DIR: overlay figures of a sweep's headline metrics by variant, as PNG
# and PDF, through gnuplot (Debian's gnuplot-nox). Reads SWEEP_DIR/sweep.csv (a row per variant:
# its axes' values, then every summary field's mean and std over seeds) and each variant's
# aggregated days.csv, and writes into SWEEP_DIR:
#   sweep_metrics.png/.pdf  IMV with and without storage, EEI gap (learned and baseline tariff),
#                           revenue shortfall and the retail adders, by variant (bars: 1 sd)
#   sweep_imv.png/.pdf      the daily IMV with storage of every variant, overlaid
set -euo pipefail
run=${1:?usage: tools/sweep_figures.sh SWEEP_DIR}
command -v gnuplot >/dev/null || { echo "sweep_figures.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -f "$run/sweep.csv" ] || { echo "sweep_figures.sh: $run/sweep.csv is missing (is $run a finished sweep?)" >&2; exit 1; }
# gnuplot reads and writes names relative to the sweep directory: no path, and no value of the
# sweep file, is spliced into its commands (the labels are read from sweep.csv as data).
dir=$run
cd -- "$run"
# Tick labels "K: value | value" from the axes' columns (between "seeds" and the first "*_mean"),
# parsed as CSV (quoted values hold commas) into a file of quoted labels gnuplot reads as data.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'NR == 1 { n = 0; for (i = 3; i <= NF && $i !~ /_mean$/; i++) n++; FS = "\n"; print "variant,label"; next }
     { k = 1; f[1] = ""; q = 0
       for (c = 1; c <= length($0); c++) {
         ch = substr($0, c, 1)
         if (q && ch == "\"" && substr($0, c + 1, 1) == "\"") { f[k] = f[k] ch; c++ }
         else if (ch == "\"") q = !q
         else if (!q && ch == ",") f[++k] = ""
         else f[k] = f[k] ch
       }
       lab = f[1] ":"
       for (i = 0; i < n; i++) lab = lab (i ? " |" : "") " " f[i + 3]
       gsub(/"/, "\047", lab)
       printf "%s,\"%s\"\n", f[1], lab }' FS=, sweep.csv > "$tmp/labels.csv"
variants=$(($(wc -l < sweep.csv) - 1))
# The axes' names (config keys the config reader accepted: letters, digits, '_' and '.').
names=$(head -1 sweep.csv | awk -F, '{ for (i = 3; i <= NF && $i !~ /_mean$/; i++) printf "%s%s", (i > 3 ? " | " : ""), $i }' | tr -cd 'A-Za-z0-9_. |')
ticks="\"$tmp/labels.csv\" using 1:(NaN):xtic(2) notitle"
# Each variant's daily IMV under a header holding its label, so the key names it (as data;
# tab-separated, as the label may hold commas).
for ((v = 0; v < variants; v++)); do
  lab=$(awk -F, -v v="$v" 'NR > 1 && $1 == v { sub(/^[^,]*,"/, ""); sub(/"$/, ""); print; exit }' "$tmp/labels.csv")
  awk -F, -v lab="$lab" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "imv_rl_mean") c = i; print "day\t" lab; next }
                         { print $1 "\t" $c }' "variant-$v/days.csv" > "$tmp/imv-$v.tsv"
done

for term in png pdf; do
  if [ $term = png ]; then setterm='set terminal pngcairo size 1100,800 font ",10" noenhanced'
  else setterm='set terminal pdfcairo size 11in,8in font ",10" noenhanced'; fi
  gnuplot <<GP
$setterm
set datafile columnheaders
set grid
set offsets 0.5, 0.5, 0, 0
set datafile separator ","
set xtics rotate by -25
set key outside top center horizontal
set output "sweep_metrics.$term"
set multiplot layout 2,2 title "headline metrics by variant (mean over seeds, bars = 1 sd); x: variant: $names"
set ylabel "IMV, last days (\$/MWh)"
plot $ticks, "sweep.csv" using 1:"imv_last3d.rl_mean":"imv_last3d.rl_std" with yerrorlines lw 2 title "storage + RL", \
     "" using 1:"imv_last3d.no_storage_mean":"imv_last3d.no_storage_std" with yerrorlines lw 2 dt 2 title "no storage"
set ylabel "EEI gap (percentage points)"
plot $ticks, "sweep.csv" using 1:"eei_gap.learned_mean":"eei_gap.learned_std" with yerrorlines lw 2 title "learned tariff", \
     "" using 1:"eei_gap.baseline_tariff_mean":"eei_gap.baseline_tariff_std" with yerrorlines lw 2 dt 2 title "baseline tariff"
set ylabel "revenue shortfall (fraction of fixed cost)"
plot $ticks, "sweep.csv" using 1:"revenue_shortfall_mean":"revenue_shortfall_std" with yerrorlines lw 2 title "shortfall"
set ylabel "retail adder (\$/kWh)"
plot $ticks, "sweep.csv" using 1:"alpha_buy_mean":"alpha_buy_std" with yerrorlines lw 2 title "alpha buy", \
     "" using 1:"alpha_sell_mean":"alpha_sell_std" with yerrorlines lw 2 dt 2 title "alpha sell"
unset multiplot

set output "sweep_imv.$term"
set title "daily IMV with storage and learning, by variant (mean over seeds): $names"
set offsets 0, 0, 0, 0
set xlabel "day"; set ylabel "IMV (\$/MWh)"
unset xtics; set xtics
set key outside right top vertical
set datafile separator tab
plot for [v=0:$variants-1] sprintf("$tmp/imv-%d.tsv", v) using 1:2 with lines lw 2 title columnheader(2)
GP
done
echo "sweep figures written to $dir"
