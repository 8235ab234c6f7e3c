#!/bin/bash
# Live-capture throughput: synack live on lo while synack echo drives traffic.
# Usage (root): P=8 N=625 benches/live.sh   (P parallel clients, N connections each, 20 echoes per connection)
# Prints the traffic time and the kernel counters; captured/(time) is packets per second.
cd /work/main
B=./target/release/synack; P=${P:-50}; N=${N:-100}
$B echo server --listen 127.0.0.1:9931 -q & SRV=$!
sleep 0.3
$B live 'tcp port 9931' > /dev/null 2>/tmp/livebench.err & CAP=$!
sleep 1
START=$(date +%s.%N)
$B echo client --connect 127.0.0.1:9931 --parallel $P --connections $N --repeat 20 --send ping -q
END=$(date +%s.%N)
sleep 1
kill -INT $CAP; wait $CAP
kill -INT $SRV; wait $SRV 2>/dev/null
echo "traffic seconds: $(echo "$END - $START" | bc)"
cat /tmp/livebench.err
