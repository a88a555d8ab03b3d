# Here-documents: expansion, quoting, tab stripping, into loops, functions, subshells and
# substitutions, and one larger than a pipe buffer (dash writes those through a forked child).
name=world
cat <<EOF
hello $name
sum $((2 + 3))
sub $(echo substituted)
EOF
cat <<'EOF'
literal $name $(echo no)
EOF
cat <<-EOF
	tab stripped
	EOF
while read -r a b; do echo "$b $a"; done <<EOF
1 one
2 two
EOF
f() { cat; }; f <<EOF
into a function
EOF
big=$(seq 1 20000 | tr '\n' ' ')
cat <<EOF | wc -c
$big
EOF
tr 0-9 a-j <<EOF | cksum
$big
EOF
cat <<EOF >/dev/null
$big
EOF
echo "big here-doc to /dev/null: $?"
cat <<EOF1; cat <<EOF2
first
EOF1
second
EOF2
( cat <<EOF
in a subshell
EOF
)
x=$(cat <<EOF
inside a command substitution
EOF
); echo "$x"
cat <<EOF >hd.txt
to a file
EOF
cat hd.txt
sh <<EOF
echo "a script on sh's stdin"
exit 3
EOF
echo "sh from a here-doc: $?"
