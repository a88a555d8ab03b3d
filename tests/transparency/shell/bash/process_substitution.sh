# Process substitution: <( ) and >( ) as arguments, as input to loops and mapfile, waited for.
diff <(printf 'a\nb\n') <(printf 'a\nc\n'); echo "diff status: $?"
while read -r l; do echo "line $l"; done < <(seq 3)
mapfile -t arr < <(seq 5); echo "mapfile: ${#arr[@]} elements, last ${arr[4]}"
cat <(echo x) <(echo y) <(echo z)
tee >(wc -l > count.txt) < <(seq 1 1000) >/dev/null; wait $!; echo "tee to a process: $(cat count.txt)"  # $! is the substitution only when the shell itself runs tee
paste <(seq 3) <(seq 4 6) | tr '\t' ,
echo "sorted: $(sort <(printf '3\n1\n2\n') | tr '\n' ' ')"
