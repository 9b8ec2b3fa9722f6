// FUZZ_CHECK: an invariant a fuzz target asserts; aborts (which libFuzzer reports as a crash,
// with the input saved) instead of relying on assert(), which release builds compile out.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                  \
        }                                                                             \
    } while (0)
