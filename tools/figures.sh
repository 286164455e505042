#!/usr/bin/env bash
# figures.sh RUN_DIR: the paper's figures from a tariff-game run directory, through gnuplot
# (Debian's gnuplot-nox), each as PNG, PDF and SVG:
#   fig1_lmp         LMP by hour of day, first and last day, with storage and RL / without storage
#   fig2_tariff      the tariff over the run: adders, prosumer classes' and consumers' fixed charges
#   fig4_imv         daily IMV with storage and RL / without storage
#   fig5_net_demand  the fleets' grid energy by hour of day: first and last days, and the last
#                    days' net demand without batteries
#   fig6_eei         EEI per prosumer class, all prosumers pooled and the consumers, per period
# Reads the aggregated CSVs (docs/OUTPUTS.md): lines are means over seeds, bands one standard
# deviation over seeds, in the line's colour. Series that coincide (the LMPs of an uncongested
# grid, alpha_sell clipped to alpha_buy) are drawn once, named together. Legends sit below the
# plots, clear of the data; titles above them.
set -euo pipefail
run=${1:?usage: tools/figures.sh RUN_DIR}
case $run in /* | ./* | ../*) ;; *) run=./$run ;; esac  # never an option to find or cp
command -v gnuplot >/dev/null || { echo "figures.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
for f in steps.csv periods.csv days.csv hourly.csv; do
  [ -f "$run/$f" ] || { echo "figures.sh: $run/$f is missing (is $run a tariff-game run?)" >&2; exit 1; }
done
head -1 "$run/steps.csv" | grep -q '^day,hour,bus,lmp_mean,' ||
  { echo "figures.sh: $run/steps.csv has no _mean columns: give the run directory, not a seed's" >&2; exit 1; }

# gnuplot substitutes `...` even inside its strings, so no name from outside (the run's path,
# bus and class names) is written into a gnuplot script: it reads and writes files in a
# temporary directory of a plain name, refers to columns by number, and labels are filtered.
tmp=$(mktemp -d /tmp/sb-figures.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
case $tmp in *[!A-Za-z0-9/._-]*) echo "figures.sh: unexpected temporary directory $tmp" >&2; exit 1 ;; esac
cp "$run/days.csv" "$run/hourly.csv" "$tmp/"
# Labels: letters, digits and a few punctuation marks only.
clean() { tr -cd 'A-Za-z0-9 _.,=+():;/-'; }

# ---- what the run was ----
# A config number from summary.json ("key": value), or a default.
config_num() {
  local v=""
  [ -f "$run/summary.json" ] && v=$(sed -n "s/^ *\"$1\": \([-0-9.e+]*\),\{0,1\}$/\1/p" "$run/summary.json" | head -1)
  echo "${v:-$2}"
}
S=$(awk -F, 'NR > 1 && $2 + 1 > s { s = $2 + 1 } END { print s }' "$run/steps.csv")
days=$(awk -F, 'NR > 1 { d = $1 } END { print d + 1 }' "$run/days.csv")
last=$((days - 1))
step_hours=$(config_num step_hours "$(awk -v s="$S" 'BEGIN { print 24 / s }')")
report_days=$(config_num report_days 3)
seeds=$(find "$run" -maxdepth 1 -type d -name 'seed-*' | wc -l)
[ "$seeds" -gt 0 ] || seeds=1
day_span=$(awk -v h="$step_hours" -v s="$S" 'BEGIN { print h * s }')
if [ "$seeds" -gt 1 ]; then sub="mean over $seeds seeds, band = 1 sd"; else sub="one seed"; fi

# ---- shared awk: column index by name, and grouping of identical series ----
AWK_LIB='
function header(line,   i, n, f) { n = split(line, f, ","); for (i = 1; i <= n; i++) col[f[i]] = i; return n }
'

# ---- Fig. 1 data: one file per distinct bus series, x at the middle of each step ----
# Buses whose LMPs (with and without storage, first and last day) coincide form one series.
# More than 6 distinct buses are too many for a legend: then the mean over buses is drawn and
# its band is the range over buses.
awk -F, -v last="$last" -v h="$step_hours" -v tmp="$tmp" "$AWK_LIB"'
NR == 1 { header($0); next }
$1 == 0 || $1 == last {
  b = $3; if (!(b in sig)) { order[++nbus] = b; sig[b] = "" }
  m = $col["lmp_mean"]; nm = $col["lmp_no_storage_mean"]
  sig[b] = sig[b] sprintf("%.6g,%.6g;", m, nm)
  if (m != nm) differs[b] = 1
  d = ($1 == 0) ? "first" : "last"
  row[b, d] = row[b, d] sprintf("%g,%s,%s,%s,%s\n", ($2 + 0.5) * h, m, $col["lmp_std"], nm, $col["lmp_no_storage_std"])
  k = d SUBSEP $2
  sm[k] += m; snm[k] += nm
  if (!(k in lo) || m < lo[k]) lo[k] = m; if (!(k in hi) || m > hi[k]) hi[k] = m
  if (!(k in nlo) || nm < nlo[k]) nlo[k] = nm; if (!(k in nhi) || nm > nhi[k]) nhi[k] = nm
  if ($2 + 1 > S) S = $2 + 1
}
END {
  for (i = 1; i <= nbus; i++) {
    b = order[i]; lab = b; gsub(/[^A-Za-z0-9_.:;\/+=()-]/, "", lab)
    if (!(sig[b] in group)) { group[sig[b]] = ++ng; rep[ng] = b; label[ng] = lab; cnt[ng] = 1 }
    else { g = group[sig[b]]; label[g] = label[g] ", " lab; cnt[g]++ }
  }
  lf = tmp "/lmp_groups.txt"
  if (ng <= 6) {
    for (g = 1; g <= ng; g++) {
      for (d = 1; d <= 2; d++) {
        dn = d == 1 ? "first" : "last"; f = tmp "/lmp_" dn "_" g ".csv"
        printf "x,m,s,nm,ns\n%s", row[rep[g], dn] > f; close(f)
      }
      # "label|1" when the no-storage LMPs differ from the storage ones, "label|0" when they coincide
      print (cnt[g] == nbus && nbus > 1 ? "all " nbus " buses" : cnt[g] > 3 ? cnt[g] " buses" : label[g]) "|" (rep[g] in differs) > lf
    }
  } else {
    for (d = 1; d <= 2; d++) {
      dn = d == 1 ? "first" : "last"; f = tmp "/lmp_" dn "_1.csv"
      print "x,m,lo,hi,nm,nlo,nhi" > f
      for (s = 0; s < S; s++) { k = dn SUBSEP s
        printf "%g,%.9g,%s,%s,%.9g,%s,%s\n", (s + 0.5) * h, sm[k] / nbus, lo[k], hi[k], snm[k] / nbus, nlo[k], nhi[k] > f }
      close(f)
    }
    print "mean over " nbus " buses (band: their range)|1" > lf
    print "range" > (tmp "/lmp_mode.txt")
  }
}' "$run/steps.csv"
lmp_mode=$(cat "$tmp/lmp_mode.txt" 2>/dev/null || echo sd)
# gnuplot word lists: the solid lines' titles, and the groups whose no-storage line differs
lmp_titles=$(awk -F'|' '{ printf "%s\"%s, storage + RL%s\"", (NR > 1 ? " " : ""), $1, ($2 ? "" : " = no storage") }' "$tmp/lmp_groups.txt")
lmp_ns_titles=$(awk -F'|' '{ printf "%s\"%s, no storage\"", (NR > 1 ? " " : ""), $1 }' "$tmp/lmp_groups.txt")
lmp_ns_ids=$(awk -F'|' '$2 { printf "%s%d", (n++ ? " " : ""), NR }' "$tmp/lmp_groups.txt")
n_lmp=$(wc -l < "$tmp/lmp_groups.txt")

# ---- periods as step functions: each row twice, at its first day and at the next period's ----
awk -F, -v days="$days" 'NR == 1 { print; next } { r[++n] = $0; s[n] = $2 }
  END { for (i = 1; i <= n; i++) {
          print r[i]
          k = split(r[i], f, ","); f[2] = i < n ? s[i + 1] : days
          line = f[1]; for (j = 2; j <= k; j++) line = line "," f[j]; print line } }' \
  "$run/periods.csv" > "$tmp/periods_steps.csv"

# Distinct series among columns NAME (each NAME_mean and NAME_std, every row): one line per
# group, "INDEX KIND LABEL": the 1-based column of NAME_mean (NAME_std follows it), KIND (c a
# prosumer class, p all prosumers pooled, n consumers, a an adder), LABEL naming every member.
distinct() {
  local file=$1; shift
  awk -F, -v names="$*" "$AWK_LIB"'
  function pretty(x) {
    if (x == "alpha_buy") return "buy adder"; if (x == "alpha_sell") return "sell adder"
    if (x == "eei_prosumers") return "all prosumers (pooled)"; if (x == "eei_consumers") return "consumers"
    sub(/^(fixed|eei)_/, "", x); gsub(/[^A-Za-z0-9_.:;\/+=()-]/, "", x); return x }
  function kind(x) { return x ~ /^alpha_/ ? "a" : x == "eei_prosumers" ? "p" : x == "eei_consumers" ? "n" : "c" }
  NR == 1 { header($0); n = split(names, nm, " "); next }
  { for (i = 1; i <= n; i++) sig[i] = sig[i] $col[nm[i] "_mean"] "," $col[nm[i] "_std"] ";" }
  END { for (i = 1; i <= n; i++) {
          if (!(sig[i] in g)) { g[sig[i]] = ++ng; rep[ng] = nm[i]; lab[ng] = pretty(nm[i]) }
          else lab[g[sig[i]]] = lab[g[sig[i]]] " = " pretty(nm[i]) }
        for (k = 1; k <= ng; k++) print col[rep[k] "_mean"], kind(rep[k]), lab[k] }' "$file"
}
classes=$(head -1 "$run/periods.csv" | tr , '\n' | sed -n 's/^fixed_\(.*\)_mean$/\1/p' | grep -vx consumers || true)
alpha_groups=$(distinct "$tmp/periods_steps.csv" alpha_buy alpha_sell)
fixed_groups=$(distinct "$tmp/periods_steps.csv" $(for c in $classes; do printf 'fixed_%s ' "$c"; done))
eei_groups=$(distinct "$tmp/periods_steps.csv" $(for c in $classes; do printf 'eei_%s ' "$c"; done) eei_prosumers eei_consumers)
# gnuplot word lists: column numbers, kinds, labels
gp_cols() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }'; }
gp_kinds() { awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }'; }
gp_labels() { awk '{ $1 = $2 = ""; sub(/^  /, ""); printf "%s\"%s\"", (NR > 1 ? " " : ""), $0 }'; }
consumers_col=$(head -1 "$run/periods.csv" | tr , '\n' | grep -nx fixed_consumers_mean | cut -d: -f1)

# ---- Fig. 5 data: the last days' net demand without batteries, from the seeds' draws ----
have_nb=0
if ls "$run"/seed-*/draws.csv >/dev/null 2>&1; then
  for d in "$run"/seed-*/draws.csv; do
    awk -F, -v from=$((days - report_days)) -v w="$report_days" -v S="$S" \
      'NR > 1 && $3 == "prosumer_net_kwh" && $1 >= from { e[$2] += $5 }
       END { for (h = 0; h < S; h++) printf "%s%.9g", h ? "," : "", e[h] / w / 1000; print "" }' "$d"
  done > "$tmp/nb_seeds.csv"
  awk -F, -v h="$step_hours" '{ for (i = 1; i <= NF; i++) { s[i] += $i; s2[i] += $i * $i } n++; nf = NF }
    END { print "x,m,s"; for (i = 1; i <= nf; i++) { m = s[i] / n; v = s2[i] / n - m * m; printf "%g,%.9g,%.9g\n", (i - 0.5) * h, m, sqrt(v > 0 ? v : 0) } }' \
    "$tmp/nb_seeds.csv" > "$tmp/nb.csv"
  have_nb=1
  # Without storage the fleets' energy is their net demand: one line, not two.
  if awk -F, "$AWK_LIB"'FNR == 1 { header($0); next } FILENAME == ARGV[1] { m[FNR] = $col["m"]; next }
        { d = m[FNR] - $col["fleet_mwh_last_mean"]; if (d * d > 1e-12 * (1 + m[FNR] * m[FNR])) differ = 1 }
        END { exit differ ? 1 : 0 }' "$tmp/nb.csv" "$run/hourly.csv"; then
    have_nb=same
  fi
fi

# ---- the gnuplot scripts (terminal-free: the formats are set below) ----
cat > "$tmp/common.gp" <<GP
set datafile separator ","
set datafile columnheaders
set grid lt -1 lc rgb "#dddddd" lw 0.5
set style fill transparent solid 0.18 noborder
set key below horizontal Left reverse samplen 2.5 spacing 1.2 height 1
set border 3; set tics nomirror
days = $days; last = $last; step_hours = $step_hours; day_span = $day_span
# Okabe-Ito colours (distinguishable with colour-blindness): the same index, the same meaning
# in every figure (classes from 3, all prosumers 7, consumers 8)
set linetype 1 lc rgb "#0072B2"; set linetype 2 lc rgb "#D55E00"; set linetype 3 lc rgb "#009E73"
set linetype 4 lc rgb "#E69F00"; set linetype 5 lc rgb "#CC79A7"; set linetype 6 lc rgb "#56B4E9"
set linetype 7 lc rgb "#882255"; set linetype 8 lc rgb "#444444"; set linetype cycle 8
GP

# gnuplot iterates once over an empty word list: the no-storage lines only when there are some
ns_band="" ns_line="" lmp_key=""
if [ -n "$lmp_ns_ids" ]; then
  lmp_key="; solid: storage + RL, dashed: no storage"
  ns_band='for [g in ns_ids] "'"$tmp"'/lmp_".d."_".g.".csv" using "x":(column("nm") - column("ns")):(column("nm") + column("ns")) with filledcurves lc g+0 notitle, '
  ns_line=', for [g in ns_ids] "'"$tmp"'/lmp_".d."_".g.".csv" using "x":"nm" with linespoints lw 2 pt 6 ps PS dt 2 lc g+0 title word(ns_titles, g+0)'
fi
cat > "$tmp/fig1.gp" <<GP
titles = '$lmp_titles'; ns_titles = '$lmp_ns_titles'; ns_ids = "$lmp_ns_ids"
n = $n_lmp
set multiplot layout 1,2 title "LMP by hour of day ($sub$lmp_key)"
do for [d in "first last"] {
  set title (d eq "first" ? "first day (day 0)" : sprintf("last day (day %d)", last))
  set xlabel sprintf("hour of day (middle of each %g-hour step)", step_hours)
  set ylabel "LMP (\$/MWh)"
  set xrange [0:day_span]; set xtics 0, step_hours
  if ("$lmp_mode" eq "range") {
    f = "$tmp/lmp_".d."_1.csv"
    plot f using "x":"lo":"hi" with filledcurves lc 1 notitle, \
         f using "x":"nlo":"nhi" with filledcurves lc 2 notitle, \
         f using "x":"m" with linespoints lw 2 pt 7 ps PS lc 1 title word(titles, 1), \
         f using "x":"nm" with linespoints lw 2 pt 6 ps PS dt 2 lc 2 title word(ns_titles, 1)
  } else {
    plot for [g=1:n] "$tmp/lmp_".d."_".g.".csv" using "x":(column("m") - column("s")):(column("m") + column("s")) with filledcurves lc g notitle, \
         $ns_band for [g=1:n] "$tmp/lmp_".d."_".g.".csv" using "x":"m" with linespoints lw 2 pt 7 ps PS lc g title word(titles, g)$ns_line
  }
}
unset multiplot
GP

cat > "$tmp/fig2.gp" <<GP
f = "$tmp/periods_steps.csv"
a_cols = "$(echo "$alpha_groups" | gp_cols)"; a_labs = '$(echo "$alpha_groups" | gp_labels)'
p_cols = "$(echo "$fixed_groups" | gp_cols)"; p_labs = '$(echo "$fixed_groups" | gp_labels)'
cc = $consumers_col
m(i) = column(i); lo(i) = column(i) - column(i + 1); hi(i) = column(i) + column(i + 1)
set multiplot layout 1,3 title "The tariff in force ($sub)"
set xlabel "day"; set xrange [0:days]
# y ranges from the data (mean +- sd), padded, never empty: a series held on a bound (alpha 0, a
# charge of 0) stays visible off the axis.
ylo = 1e300; yhi = -1e300
do for [i=1:words(a_cols)] {
  c = int(word(a_cols, i))
  stats f using (lo(c)) nooutput; ylo = STATS_min < ylo ? STATS_min : ylo
  stats f using (hi(c)) nooutput; yhi = STATS_max > yhi ? STATS_max : yhi
}
span = yhi - ylo > 1e-9 ? yhi - ylo : 0.002; mid = (yhi + ylo) / 2
set yrange [mid - 0.6 * span : mid + 0.6 * span]
set title "retail adders"; set ylabel "added to LMP/1000 (\$/kWh)"; set format y "%.4f"
plot for [i=1:words(a_cols)] f using "day_start":(lo(int(word(a_cols,i)))):(hi(int(word(a_cols,i)))) with filledcurves lc i notitle, \
     for [i=1:words(a_cols)] f using "day_start":(m(int(word(a_cols,i)))) with lines lw 2 lc i title word(a_labs, i)
set format y "%g"; set autoscale y
yhi = 1
do for [i=1:words(p_cols)] {
  stats f using (hi(int(word(p_cols, i)))) nooutput; yhi = STATS_max > yhi ? STATS_max : yhi
}
stats f using (hi(cc)) nooutput; yhi = STATS_max > yhi ? STATS_max : yhi
set yrange [-0.04 * yhi : 1.06 * yhi]
set title "prosumers' fixed charges"; set ylabel "\$ per household per day"
plot for [i=1:words(p_cols)] f using "day_start":(lo(int(word(p_cols,i)))):(hi(int(word(p_cols,i)))) with filledcurves lc i+2 notitle, \
     for [i=1:words(p_cols)] f using "day_start":(m(int(word(p_cols,i)))) with lines lw 2 lc i+2 title word(p_labs, i)
set title "consumers' fixed charge"
plot f using "day_start":(lo(cc)):(hi(cc)) with filledcurves lc 8 notitle, \
     f using "day_start":(m(cc)) with lines lw 2 lc 8 title "consumers"
unset multiplot
GP

imv_same=$(awk -F, "$AWK_LIB"'NR == 1 { header($0); next } $col["imv_rl_mean"] != $col["imv_no_storage_mean"] { d = 1 } END { print d ? 0 : 1 }' "$run/days.csv")
if [ "$imv_same" = 1 ]; then
  imv_ns_band="" imv_ns_line="" imv_rl_title="storage + RL = no storage"
else
  imv_ns_band='f using "day":(column("imv_no_storage_mean") - column("imv_no_storage_std")):(column("imv_no_storage_mean") + column("imv_no_storage_std")) with filledcurves lc 2 notitle, '
  imv_ns_line=', f using "day":"imv_no_storage_mean" with lines lw 2 dt 2 lc 2 title "no storage"'
  imv_rl_title="storage + RL"
fi
cat > "$tmp/fig4.gp" <<GP
f = "$tmp/days.csv"
set title "Incremental mean volatility of the LMP by day ($sub)"
set xlabel "day"; set ylabel "IMV (\$/MWh)"
set xrange [0:(last > 0 ? last : 1)]; set yrange [0:*]
plot f using "day":(column("imv_rl_mean") - column("imv_rl_std")):(column("imv_rl_mean") + column("imv_rl_std")) with filledcurves lc 1 notitle, \
     $imv_ns_band f using "day":"imv_rl_mean" with lines lw 2 lc 1 title "$imv_rl_title"$imv_ns_line
GP

nb_band="" nb_line="" first_title="first $report_days days, with batteries" last_title="last $report_days days, with batteries"
if [ "$have_nb" = same ]; then
  first_title="first $report_days days" last_title="last $report_days days (the net demand: no battery moved)"
fi
if [ "$have_nb" = 1 ]; then
  nb_band="\"$tmp/nb.csv\" using \"x\":(column(\"m\") - column(\"s\")):(column(\"m\") + column(\"s\")) with filledcurves lc 4 notitle, "
  nb_line=", \"$tmp/nb.csv\" using \"x\":\"m\" with linespoints lw 2 pt 6 ps PS dt 2 lc 4 title \"last $report_days days, net demand without batteries\""
fi
cat > "$tmp/fig5.gp" <<GP
f = "$tmp/hourly.csv"
set title "Prosumer fleets' grid energy by hour of day, all buses ($sub)"
set xlabel sprintf("hour of day (middle of each %g-hour step)", step_hours)
set ylabel sprintf("MWh per %g-hour step (negative: export)", step_hours)
set xrange [0:day_span]; set xtics 0, step_hours; set xzeroaxis lt -1 lw 1
x(h) = (h + 0.5) * step_hours
plot f using (x(column("hour"))):(column("fleet_mwh_first_mean") - column("fleet_mwh_first_std")):(column("fleet_mwh_first_mean") + column("fleet_mwh_first_std")) with filledcurves lc 1 notitle, \
     f using (x(column("hour"))):(column("fleet_mwh_last_mean") - column("fleet_mwh_last_std")):(column("fleet_mwh_last_mean") + column("fleet_mwh_last_std")) with filledcurves lc 2 notitle, \
     $nb_band f using (x(column("hour"))):"fleet_mwh_first_mean" with linespoints lw 2 pt 7 ps PS lc 1 title "$first_title", \
     f using (x(column("hour"))):"fleet_mwh_last_mean" with linespoints lw 2 pt 7 ps PS lc 2 title "$last_title"$nb_line
GP

cat > "$tmp/fig6.gp" <<GP
f = "$tmp/periods_steps.csv"
e_cols = "$(echo "$eei_groups" | gp_cols)"; e_kinds = "$(echo "$eei_groups" | gp_kinds)"; e_labs = '$(echo "$eei_groups" | gp_labels)'
m(i) = column(i); lo(i) = column(i) - column(i + 1); hi(i) = column(i) + column(i + 1)
set title "Energy expenditure incidence by group, per leader period ($sub)"
set key outside right center vertical Left reverse
set xlabel "day"; set ylabel "EEI (% of income, annualised)"
set xrange [0:days]; set yrange [0:*]
# classes from colour 3 (as in the tariff's figure), all prosumers 7 (dashed), consumers 8
lc_of(i) = word(e_kinds, i) eq "n" ? 8 : word(e_kinds, i) eq "p" ? 7 : i + 2
dt_of(i) = word(e_kinds, i) eq "p" ? 2 : 1
plot for [i=1:words(e_cols)] f using "day_start":(lo(int(word(e_cols,i)))):(hi(int(word(e_cols,i)))) with filledcurves lc lc_of(i) notitle, \
     for [i=1:words(e_cols)] f using "day_start":(m(int(word(e_cols,i)))) with lines lw 2 dt dt_of(i) lc lc_of(i) title word(e_labs, i)
GP

# ---- render each figure in each format ----
# name, width and height in units of 100 px (PNG, SVG) or of half an inch (PDF: a page-width
# figure at print size, 7-point text)
render() {
  local name=$1 gp=$2 w=$3 h=$4 pw ph
  pw=$(printf '%d.%din' $((w / 2)) $((w % 2 * 5))) ph=$(printf '%d.%din' $((h / 2)) $((h % 2 * 5)))
  gnuplot -e "set terminal pngcairo size $((w * 100)),$((h * 100)) font ',10' noenhanced; PS = 0.6; set output '$tmp/$name.png'" "$tmp/common.gp" "$gp"
  gnuplot -e "set terminal pdfcairo size $pw,$ph font ',7' linewidth 0.6 noenhanced; PS = 0.3; set output '$tmp/$name.pdf'" "$tmp/common.gp" "$gp"
  gnuplot -e "set terminal svg size $((w * 100)),$((h * 100)) font 'sans,10' noenhanced background '#ffffff'; PS = 0.6; set output '$tmp/$name.svg'" "$tmp/common.gp" "$gp"
  mv -f "$tmp/$name.png" "$tmp/$name.pdf" "$tmp/$name.svg" "$run/"
}
render fig1_lmp "$tmp/fig1.gp" 12 5
render fig2_tariff "$tmp/fig2.gp" 14 5
render fig4_imv "$tmp/fig4.gp" 8 5
render fig5_net_demand "$tmp/fig5.gp" 8 5
render fig6_eei "$tmp/fig6.gp" 9 5
echo "figures written to $run (PNG, PDF, SVG)"
