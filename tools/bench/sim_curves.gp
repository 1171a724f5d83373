#  sim_curves.gp - plots of tools/bench/sim_curves.sh's CSVs
#  gnuplot -e "out='docs/bench'" tools/bench/sim_curves.gp
#  Points are medians over seeds, bars span min..max.

if (!exists("out")) out = "docs/bench"
set datafile separator ","
set terminal pngcairo size 900,560 font "sans,11" noenhanced
set grid
set key top left
set logscale x
set xlabel "nodes N (log scale)"
set xrange [7:15000]

#  Rounds to converge against the log3(N) bound
set output out."/sim_rounds.png"
set title "rumor-sim: rounds of 200 ms to converge (time to goal / 200 ms)"
set ylabel "rounds"
set yrange [0:*]
plot out."/sim_scaling.csv" skip 1 using 1:4:5:6 with yerrorlines lw 2 \
         title "join: every node lists all N alive", \
     out."/sim_scaling.csv" skip 1 using 1:7:8:9 with yerrorlines lw 2 \
         title "update: one key set reaches every node", \
     log(x)/log(3) with lines dt 2 lw 2 lc rgb "black" title "log3(N)"

#  Messages per node per second
set output out."/sim_messages.png"
set title "rumor-sim: messages sent per node per second"
set ylabel "messages / node / s"
set yrange [0:*]
set y2label "bytes / node / s (log)"
set logscale y2
set y2tics
set ytics nomirror
plot out."/sim_scaling.csv" skip 1 using 1:10:11:12 with yerrorlines lw 2 \
         title "join window (messages)", \
     out."/sim_scaling.csv" skip 1 using 1:13:14:15 with yerrorlines lw 2 \
         title "update window (messages)", \
     out."/sim_scaling.csv" skip 1 using 1:16 axes x1y2 with linespoints \
         dt 3 title "join window (bytes, right axis)", \
     out."/sim_scaling.csv" skip 1 using 1:17 axes x1y2 with linespoints \
         dt 3 title "update window (bytes, right axis)"

#  Detection time and false verdicts against loss
unset logscale x
unset logscale y2
set output out."/sim_detect.png"
set title "rumor-sim: crash detection at N = 100 against random frame loss"
set key bottom right
set xlabel "frame loss (%)"
set xrange [-3:33]
set ylabel "seconds until every live node lists the crashed one DEAD"
set y2label "false SUSPECT verdicts about live nodes, per run"
set yrange [0:7]
set y2range [0:*]
#  False DEAD verdicts are few (0 is the goal): written above each point
plot out."/sim_detect.csv" skip 1 using 2:5:6:7 with yerrorlines lw 2 \
         title "detection time (s)", \
     out."/sim_detect.csv" skip 1 using 2:10:11:12 axes x1y2 \
         with yerrorlines dt 2 title "false SUSPECT verdicts (right axis)", \
     out."/sim_detect.csv" skip 1 \
         using 2:($7 + 0.4):(sprintf("false DEAD: %d", $8)) with labels \
         notitle
