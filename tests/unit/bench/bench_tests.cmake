# bench test sources (unit and integration). Paths relative to tests/.
set(PTM_BENCH_TEST_SOURCES
  unit/bench/bench_report_test.cpp
  unit/bench/bench_cli_test.cpp
)
