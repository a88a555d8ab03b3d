# Subshells: isolation of variables, directory, umask and traps; statuses; nesting.
x=outer
( x=inner; echo "in subshell: $x" )
echo "after subshell: $x"
here=$(pwd)
( cd /; pwd )
[ "$(pwd)" = "$here" ] && echo "directory unchanged"
u=$(umask); ( umask 077; umask ); [ "$(umask)" = "$u" ] && echo "umask unchanged"
( exit 3 ); echo "subshell exit: $?"
( ( ( echo deep ) ) )
( set -e; false; echo not reached ); echo "set -e subshell: $?"
( trap 'echo "subshell EXIT trap"' EXIT; echo "in a subshell with a trap" )
( echo a; exit 0; echo b )
{ echo group; } ; echo "group status $?"
y=$( (echo from a nested subshell) ); echo "$y"
( sleep 0.05; echo delayed ); echo "after delayed"
( sh -c 'exit 4' ); echo "nested sh: $?"
( /bin/echo external in subshell )
( ( exit 2 ) || echo "inner failed with $?" )
( unset x; echo "x in subshell after unset: ${x-unset}" ); echo "x outside: $x"
( exec /bin/echo "exec replaced the subshell"; echo not reached )
