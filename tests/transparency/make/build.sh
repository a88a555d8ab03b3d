# make -j4 of a generated tree of 24 leaves: the result, what was built, then "up to date".
. "$TR_SUITE_DIR/tree.sh"
gen_tree 24
make -j4 -s; echo "make -j4: $?"
cat out/all.txt
echo "targets built: $(sort build.log | uniq | wc -l) ($(wc -l < build.log) recipes)"
make -q; echo "make -q afterwards: $?"
make -j4; echo "second make: $?"
