# A small C program built with make -j4 (cc, cc1, as, ld), run, then rebuilt after its header changes.
mkdir -p c
cat > c/greet.h <<'EOF'
#define GREETING "hello from a built program"
int add(int, int);
int mul(int, int);
EOF
cat > c/main.c <<'EOF'
#include <stdio.h>
#include "greet.h"
int main(void) { printf("%s: %d %d\n", GREETING, add(2, 3), mul(4, 5)); return 0; }
EOF
printf '#include "greet.h"\nint add(int a, int b) { return a + b; }\n' > c/add.c
printf '#include "greet.h"\nint mul(int a, int b) { return a * b; }\n' > c/mul.c
cat > Makefile <<'MK'
SRCS := $(wildcard c/*.c)
OBJS := $(SRCS:.c=.o)
prog: $(OBJS)
	@$(CC) -o $@ $^
%.o: %.c
	@echo $@ >> built.log
	@$(CC) -O1 -MMD -c -o $@ $<
-include $(OBJS:.o=.d)
MK
make -j4 -s CC=cc; echo "build: $?"
./prog
sort built.log | tr '\n' ' '; echo
rm built.log
sed -i 's/hello from a built program/hello again/' c/greet.h
make -j4 -s CC=cc; echo "rebuild after the header changed: $?"
./prog
sort built.log | tr '\n' ' '; echo
