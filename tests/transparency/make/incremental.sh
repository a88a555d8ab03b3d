# After one source changes, make -j4 rebuilds exactly the targets that depend on it.
. "$TR_SUITE_DIR/tree.sh"
gen_tree 24
make -j4 -s; echo "first build: $?"
rm build.log
echo "value changed" >> src/l7.in
make -q; echo "make -q after a change: $?"
make -j4 -s; echo "rebuild: $?"
sort build.log
grep -c . out/all.txt
