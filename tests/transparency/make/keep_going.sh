# make -k -j4 with one failing recipe: its status, what it still built, its messages.
cat > Makefile <<'MK'
all: ok1 ok2 ok3 ok4 ok5 ok6 after_bad
ok%:
	@echo "$@" > $@
bad:
	@sh -c 'exit 3'
after_bad: bad
	@echo "$@" > $@
MK
make -k -j4 -s 2>err.txt; echo "make -k -j4: $?"
ls ok* after_bad 2>/dev/null | sort | tr '\n' ' '; echo
sort err.txt
make -j4 -s ok1 ok2; echo "make of targets that exist: $?"
