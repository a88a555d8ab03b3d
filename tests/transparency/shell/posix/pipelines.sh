# Pipelines: data through several processes, exit statuses, builtins and compound commands inside.
printf 'banana\napple\ncherry\n' | sort | tr a-z A-Z
printf 'a b c\n' | cut -d' ' -f2
false | true; echo "false | true -> $?"
true | false; echo "true | false -> $?"
! false | false; echo "! false | false -> $?"
seq 1 5000 | cat | cat | cat | cat | cat | cat | cat | cat | wc -l
head -c 1000000 /dev/zero | tr '\0' x | wc -c
yes | head -n 3
{ echo one; echo two; } | while read -r l; do echo "read $l"; done
echo done | ( read -r x; echo "subshell got $x" )
i=0; printf '1\n2\n3\n' | while read -r n; do i=$((i + n)); done; echo "i after the pipe loop: $i"
seq 1 100 | while read -r n; do echo "$n" | tr 0-9 a-j; done | tail -n 2
printf 'z\ny\nx\n' | sort | sort -r | sort | head -n 1
echo "last: $(printf '1\n2\n3\n' | tail -n 1)"
