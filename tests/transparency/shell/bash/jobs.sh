# Bash job control builtins without a terminal: wait -n, wait -n -p, %jobs, kill %n, disown, $BASHPID.
sleep 10 & s=$!; (exit 4) & wait -n; echo "wait -n: $?"; kill $s; wait $s 2>/dev/null
(exit 6) & e=$!; wait -n -p who; echo "wait -n -p: $? $(( who == e ))"
( sleep 5 & kill %1; wait %1; echo "kill %1: $?" ) 2>/dev/null
sleep 0.1 & disown; echo "disowned jobs: $(jobs | wc -l)"
( echo "BASHPID differs from \$\$ in a subshell: $(( BASHPID != $$ ))" )
( sleep 5 & a=$!; sleep 5 & b=$!; echo "running jobs: $(jobs -r | wc -l)"; kill $a $b; wait ) 2>/dev/null
f() { echo "exported function ran in $1"; }; export -f f; bash -c 'f child'
