// Skipping a test with a stated reason that CI prints: PTM_SKIP("no CUDA device") records
// "<test case>: <reason>" in <build>/tests/skipped.txt (scripts/test.sh prints the list after
// ctest), warns, and returns from the test case. Catch2 v2 has no skip of its own.
#pragma once
#include <string>

#include "catch.h"

namespace ptm::test {
void record_skip(const std::string& test_name, const std::string& reason);
}  // namespace ptm::test

#define PTM_SKIP(reason)                                                                          \
  do {                                                                                            \
    const std::string ptm_skip_reason_ = (reason);                                                \
    ::ptm::test::record_skip(Catch::getResultCapture().getCurrentTestName(), ptm_skip_reason_);  \
    WARN("skipped: " << ptm_skip_reason_);                                                        \
    return;                                                                                       \
  } while (0)
