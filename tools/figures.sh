#!/usr/bin/env bash
# figures.sh RUN_DIR: the paper's figures from a tariff-game run directory, as PNG, through
# gnuplot (Debian's gnuplot-nox). Reads the aggregated CSVs (mean and std over seeds; bands
# are one standard deviation) and writes RUN_DIR/fig1_lmp.png, fig2_tariff.png, fig4_imv.png,
# fig5_net_demand.png, fig6_eei.png.
set -euo pipefail
run=${1:?usage: tools/figures.sh RUN_DIR}
command -v gnuplot >/dev/null || { echo "figures.sh: gnuplot is not installed (apt-get install gnuplot-nox)" >&2; exit 1; }
for f in steps.csv periods.csv days.csv hourly.csv; do
  [ -f "$run/$f" ] || { echo "figures.sh: $run/$f is missing (is $run a tariff-game run?)" >&2; exit 1; }
done
# gnuplot reads and writes names relative to the run directory: no path is spliced into its
# commands, so a directory named with quotes cannot inject any.
dir=$run
cd -- "$run"
run=.
last=$(awk -F, 'NR > 1 { d = $1 } END { print d }' "$run/steps.csv")
buses=$(awk -F, 'NR > 1 && !seen[$3]++ { printf "%s ", $3 }' "$run/steps.csv")
nb=$(echo $buses | wc -w)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One file per plotted day: rows are hour-major, bus-minor, so bus k is `every nb::k`.
awk -F, 'NR == 1 || $1 == 0' "$run/steps.csv" > "$tmp/first.csv"
awk -F, -v d="$last" 'NR == 1 || $1 == d' "$run/steps.csv" > "$tmp/last.csv"

gnuplot <<GP
set terminal pngcairo size 1100,450 font ",10" noenhanced
set datafile separator ","
set datafile columnheaders
set grid
set style fill transparent solid 0.2 noborder
buses = "$buses"

# Fig. 1: LMPs of the first and the last day, with and without storage and learning.
set output "$run/fig1_lmp.png"
set multiplot layout 1,2 title "Fig. 1: LMP by hour (mean over seeds, band = 1 sd)"
nb = $nb
do for [f in "first last"] {
  set title (f eq "first" ? "first day" : "last day (day $last)")
  set xlabel "hour of day"; set ylabel "LMP (\$/MWh)"; set xrange [0:21]
  file = "$tmp/".f.".csv"
  plot for [k=0:nb-1] file every nb::k using (3*column("hour")):(column("lmp_mean") - column("lmp_std")):(column("lmp_mean") + column("lmp_std")) with filledcurves lc k+1 notitle, \
       for [k=0:nb-1] file every nb::k using (3*column("hour")):"lmp_mean" with linespoints lw 2 lc k+1 title word(buses, k+1)." storage+RL", \
       for [k=0:nb-1] file every nb::k using (3*column("hour")):"lmp_no_storage_mean" with lines dashtype 2 lw 2 lc k+1 title word(buses, k+1)." no storage"
}
set autoscale x
unset multiplot

# Fig. 2: retail adders and fixed charges over time.
set output "$run/fig2_tariff.png"
set multiplot layout 1,2 title "Fig. 2: the learned tariff (mean over seeds, band = 1 sd)"
set title "rates"; set xlabel "day"; set ylabel "\$/kWh added to LMP/1000"
plot "$run/periods.csv" using "day_start":(column("alpha_buy_mean")-column("alpha_buy_std")):(column("alpha_buy_mean")+column("alpha_buy_std")) with filledcurves lc 1 notitle, \
     "" using "day_start":"alpha_buy_mean" with steps lw 2 lc 1 title "alpha buy", \
     "" using "day_start":(column("alpha_sell_mean")-column("alpha_sell_std")):(column("alpha_sell_mean")+column("alpha_sell_std")) with filledcurves lc 2 notitle, \
     "" using "day_start":"alpha_sell_mean" with steps lw 2 lc 2 title "alpha sell"
set title "fixed charges"; set ylabel "\$/household/day"
groups = buses." consumers"
plot for [i=1:words(groups)] "$run/periods.csv" using "day_start":(column("fixed_".word(groups,i)."_mean")-column("fixed_".word(groups,i)."_std")):(column("fixed_".word(groups,i)."_mean")+column("fixed_".word(groups,i)."_std")) with filledcurves lc i notitle, \
     for [i=1:words(groups)] "" using "day_start":"fixed_".word(groups,i)."_mean" with steps lw 2 lc i title word(groups,i)
unset multiplot

# Fig. 4: daily IMV with and without storage and learning.
set terminal pngcairo size 700,450 font ",10" noenhanced
set output "$run/fig4_imv.png"
set title "Fig. 4: intraday market volatility (mean over seeds, band = 1 sd)"
set xlabel "day"; set ylabel "IMV (\$/MWh)"
plot "$run/days.csv" using "day":(column("imv_rl_mean")-column("imv_rl_std")):(column("imv_rl_mean")+column("imv_rl_std")) with filledcurves lc 1 notitle, \
     "" using "day":"imv_rl_mean" with lines lw 2 lc 1 title "storage + RL", \
     "" using "day":(column("imv_no_storage_mean")-column("imv_no_storage_std")):(column("imv_no_storage_mean")+column("imv_no_storage_std")) with filledcurves lc 2 notitle, \
     "" using "day":"imv_no_storage_mean" with lines lw 2 lc 2 title "no storage"

# Fig. 5: the fleets' net grid energy by hour of day, first and last report window.
set output "$run/fig5_net_demand.png"
set title "Fig. 5: prosumer fleets' grid energy by hour (all buses; band = 1 sd)"
set xlabel "hour of day"; set ylabel "MWh per 3-hour step"
plot "$run/hourly.csv" using (3*column("hour")):(column("fleet_mwh_first_mean")-column("fleet_mwh_first_std")):(column("fleet_mwh_first_mean")+column("fleet_mwh_first_std")) with filledcurves lc 1 notitle, \
     "" using (3*column("hour")):"fleet_mwh_first_mean" with linespoints lw 2 lc 1 title "first days", \
     "" using (3*column("hour")):(column("fleet_mwh_last_mean")-column("fleet_mwh_last_std")):(column("fleet_mwh_last_mean")+column("fleet_mwh_last_std")) with filledcurves lc 2 notitle, \
     "" using (3*column("hour")):"fleet_mwh_last_mean" with linespoints lw 2 lc 2 title "last days"

# Fig. 6: energy expenditure incidence by group over time.
set output "$run/fig6_eei.png"
set title "Fig. 6: EEI by group (mean over seeds, band = 1 sd)"
set xlabel "day"; set ylabel "EEI (% of income)"
plot for [i=1:words(groups)] "$run/periods.csv" using "day_start":(column("eei_".word(groups,i)."_mean")-column("eei_".word(groups,i)."_std")):(column("eei_".word(groups,i)."_mean")+column("eei_".word(groups,i)."_std")) with filledcurves lc i notitle, \
     for [i=1:words(groups)] "" using "day_start":"eei_".word(groups,i)."_mean" with linespoints lw 2 lc i title word(groups,i)
GP
echo "figures written to $dir"
