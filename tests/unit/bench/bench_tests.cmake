# bench test sources (unit and integration). Paths relative to tests/.
set(PTM_BENCH_TEST_SOURCES
)
