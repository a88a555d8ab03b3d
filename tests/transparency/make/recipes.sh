# Recipes as shell programs: .ONESHELL with a here-document, background jobs and wait, a trap,
# $(shell ...), command substitution, and a bash recipe with process substitution.
cat > Makefile <<'MK'
.ONESHELL:
NOW_FILES := $(shell printf 'x\ny\n' | wc -l)
all: oneshell jobs trapped bashy
	@echo "shell function saw $(NOW_FILES) lines"
oneshell:
	@cat <<EOF > $@
	written by one shell
	EOF
	cat $@
jobs:
	@(sleep 0.1; echo one > j1) &
	(echo two > j2) &
	wait
	cat j1 j2 | tr '\n' ' '
	echo
trapped:
	@trap 'echo "recipe EXIT trap"' EXIT
	echo "in the trapped recipe: $$(echo sub)"
bashy: SHELL := /bin/bash
bashy:
	@diff <(echo same) <(echo same) && echo "process substitution in a bash recipe"
.PHONY: all oneshell jobs trapped bashy
MK
make -s oneshell; echo "oneshell: $?"
make -s jobs trapped bashy; echo "others: $?"
make -s all 2>&1 | tail -n 1; echo "all: $?"
