# Bash descriptor features: {var} allocation (fd 10 and up), here-strings, read -u, >& and &>.
exec {fd}>alloc.txt; echo "allocated at 10 or above: $(( fd >= 10 ))"; echo "via {fd}" >&$fd; /bin/true; echo "again" >&$fd; exec {fd}>&-; cat alloc.txt
exec {in}<alloc.txt; read -r -u $in l1; /bin/true; read -r -u $in l2; exec {in}<&-; echo "read -u: $l1 / $l2"
tr a-z A-Z <<< "here-string"
read -r a b <<< "split words"; echo "$b $a"
ls /nonexistent-forkguard-transparency &> both.txt; echo "&> status $?: $(wc -l < both.txt) line"
{ echo out; echo err >&2; } > merged.txt 2>&1; sort merged.txt | tr '\n' ' '; echo
echo "descriptors of ls: $(ls /proc/self/fd | sort -n | tr '\n' ' ')"
