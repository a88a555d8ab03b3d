# Background jobs: $!, wait for their statuses, signals to them, stdin of asynchronous lists.
sleep 0.1 & p=$!; wait $p; echo "sleep status: $?"
(exit 7) & p=$!; wait $p; echo "(exit 7) status: $?"
sh -c 'exit 9' & p=$!; wait $p; echo "sh -c 'exit 9' status: $?"
for i in 1 2 3 4 5; do (echo "job $i" > out.$i) & done; wait; cat out.1 out.2 out.3 out.4 out.5
echo hi > f & wait; cat f
( sleep 10 & p=$!; kill $p; wait $p; echo "killed sleep: $?" ) 2>/dev/null
( sleep 10 & p=$!; kill -KILL $p; wait $p; echo "SIGKILL: $?" ) 2>/dev/null
( printf 'x\ny\n' | sort -r > sorted ) & wait $!; cat sorted
true & p1=$!; true & p2=$!; true & p3=$!; wait
[ "$p1" != "$p2" ] && [ "$p2" != "$p3" ] && [ "$p1" != "$p3" ] && echo "three distinct pids"
echo "stdin of a background job: [$(echo data | { cat & wait; })]"
echo "background job with its own input: [$(echo data | { cat <&0 & wait; })]"
i=0; while [ $i -lt 20 ]; do /bin/true & i=$((i + 1)); done; wait; echo "20 background children reaped"
{ sleep 0.05; echo "group in background"; } & wait
