# Traps: EXIT, signals sent to the shell itself, ignored signals inherited by children, reset ones.
trap 'echo "EXIT trap ran"' EXIT
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"
trap 'echo "got USR2"' USR2
( sleep 0.1; kill -USR2 $$ ) &
wait
wait
echo "after USR2"
trap '' TERM
sh -c 'kill -TERM $$; echo "child survived an ignored TERM"'
trap - TERM
( sh -c 'kill -TERM $$; echo not reached' ) 2>/dev/null; echo "child killed by TERM: $?"
trap 'echo "INT trap"' INT
kill -INT $$
trap - INT
( trap 'echo "subshell EXIT trap"' EXIT; exit 2 ); echo "subshell status $?"
( trap 'echo "subshell USR1 trap"' USR1; sh -c 'kill -USR1 $PPID'; sleep 0.1; echo "subshell after USR1" )
trap 'echo "HUP trap: $n"' HUP
n=1; kill -HUP $$; n=2; kill -HUP $$
sh -c 'trap "echo child TERM trap; exit 5" TERM; kill -TERM $$; sleep 5'; echo "child with a TERM trap: $?"
