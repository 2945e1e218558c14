# Benchmark sources: torch-free ones in PTM_BENCH_BASE_SOURCES (ptm_base), the rest in
# PTM_BENCH_SOURCES (ptm). Paths relative to lib/.
set(PTM_BENCH_BASE_SOURCES
  ptm/bench/stats.cpp
  ptm/bench/mfu.cpp
  ptm/bench/options.cpp
  ptm/bench/report.cpp
)
set(PTM_BENCH_SOURCES
  ptm/bench/meters.cpp
  ptm/bench/runner.cpp
  ptm/bench/run_bench.cpp
)
