# Many short-lived children from loops, functions, case and arithmetic: the fork path in bulk.
n=0; i=0
while [ $i -lt 100 ]; do n=$(expr $n + 1); i=$((i + 1)); done; echo "expr 100 times: $n"
count() { c=0; for f in "$@"; do c=$((c + 1)); done; echo $c; }
echo "count in a substitution: $(count a b c d e)"
for w in alpha beta gamma; do case $w in a*) echo "$w starts with a";; *) echo "$w: $(echo $w | wc -c)";; esac; done
r=''; for i in 1 2 3 4 5; do r="$r$(printf %s "$i" | tr 1-5 a-e)"; done; echo "built: $r"
fib() { if [ $1 -le 1 ]; then echo $1; else echo $(( $(fib $(($1 - 1))) + $(fib $(($1 - 2))) )); fi; }
echo "fib 8 through nested substitutions: $(fib 8)"
seq 1 10 | { s=0; while read -r x; do s=$((s + x)); done; echo "sum: $s"; }
i=0; until [ $i -ge 3 ]; do i=$((i + 1)); /bin/echo "until $i"; done
