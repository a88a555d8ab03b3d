# Bash traps: ERR, RETURN, DEBUG, CHLD, and a trap that forks.
trap 'echo "ERR trap: status $?"' ERR
false
sh -c 'exit 3'
trap - ERR
g() { trap 'echo "RETURN trap"' RETURN; echo "in g"; }; g; trap - RETURN
n=0; trap 'n=$((n + 1))' DEBUG; :; :; :; trap - DEBUG; echo "DEBUG trap counted at least 3: $(( n >= 3 ))"
c=0; trap 'c=$((c + 1))' CHLD; /bin/true; /bin/true; sleep 0.1 & wait; trap - CHLD; echo "CHLD trap ran: $(( c >= 1 ))"
trap 'echo "USR1 trap forks: $(/bin/echo child)"' USR1; kill -USR1 $$; trap - USR1
trap 'echo "EXIT trap with a pipe: $(echo done | tr a-z A-Z)"' EXIT
