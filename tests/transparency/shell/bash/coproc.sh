# coproc: a two-way child, its descriptors, closing its input and waiting for it.
coproc SQ { while read -r n; do echo $((n * n)); done; }
for i in 3 7 12; do echo $i >&"${SQ[1]}"; read -r r <&"${SQ[0]}"; echo "square of $i: $r"; done
exec {SQ[1]}>&-
wait $SQ_PID; echo "coproc status: $?"
coproc UP { tr a-z A-Z; }
echo "hello coproc" >&"${UP[1]}"; exec {UP[1]}>&-
read -r line <&"${UP[0]}"; echo "$line"; wait $UP_PID; echo "second coproc status: $?"
