set terminal pngcairo size 1000,600
set output 'results.png'
set logscale x 2
set logscale y 10
set xlabel 'nodes (N)'
set ylabel 'ms until every node knows (median)'
set key outside right
set grid
set xtics (8, 32, 64)
set xrange [6.4:80]
plot 'results.dat' using 1:2 with linespoints lc rgb '#1f77b4' dt 1 title 'rumor join', \
     'results.dat' using 1:3 with linespoints lc rgb '#d62728' dt 1 title 'rumor key', \
     'results.dat' using 1:4 with linespoints lc rgb '#2ca02c' dt 1 title 'rumor event', \
     'results.dat' using 1:5 with linespoints lc rgb '#9467bd' dt 1 title 'rumor kill -9', \
     'results.dat' using 1:6 with linespoints lc rgb '#ff7f0e' dt 1 title 'rumor SIGSTOP', \
     'results.dat' using 1:7 with linespoints lc rgb '#8c564b' dt 1 title 'rumor leave', \
     'results.dat' using 1:8 with linespoints lc rgb '#1f77b4' dt 2 title 'Serf join', \
     'results.dat' using 1:9 with linespoints lc rgb '#d62728' dt 2 title 'Serf key', \
     'results.dat' using 1:10 with linespoints lc rgb '#2ca02c' dt 2 title 'Serf event', \
     'results.dat' using 1:11 with linespoints lc rgb '#9467bd' dt 2 title 'Serf kill -9', \
     'results.dat' using 1:12 with linespoints lc rgb '#ff7f0e' dt 2 title 'Serf SIGSTOP', \
     'results.dat' using 1:13 with linespoints lc rgb '#8c564b' dt 2 title 'Serf leave'
