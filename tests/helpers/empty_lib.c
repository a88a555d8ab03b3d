/* @file empty_lib.c
 * @brief A shared library with nothing in it: installed as libunwind.so.8 in a directory on
 * LD_LIBRARY_PATH, it makes the library's dlopen of libunwind succeed and its dlsym fail, so a
 * test sees what happens where libunwind is not available. */
int fg_empty_lib_marker;
