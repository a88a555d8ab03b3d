/* @file true_child.c
 * @brief The exec'd child of bench (b): a dynamically linked C program that returns 0. */
int main(void) { return 0; }
