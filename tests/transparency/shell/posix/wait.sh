# wait: with no jobs, for several jobs, for jobs that already ended, for a pid that is no child.
wait; echo "wait with no jobs: $?"
sleep 0.2 & a=$!; sleep 0.1 & b=$!; wait $a $b; echo "wait a b: $?"
(exit 3) & a=$!; (exit 4) & b=$!; wait $a; echo "a: $?"; wait $b; echo "b: $?"
(exit 5) & a=$!; sleep 0.2; wait $a; echo "already ended: $?"
wait 99999999 2>/dev/null; echo "not a child: $?"
for i in 1 2 3 4 5 6 7 8; do (sleep 0.0$i; exit $i) & done; wait; echo "all waited: $?"
i=0; while [ $i -lt 50 ]; do /bin/true & i=$((i + 1)); done; wait; echo "50 children reaped"
sh -c 'sleep 0.1 & wait $!; echo "inner sh waited: $?"'
( (exit 6) & wait $!; echo "in a subshell: $?" )
p=$(sh -c 'echo $$'); [ -n "$p" ] && echo "a child that printed its pid was reaped"
