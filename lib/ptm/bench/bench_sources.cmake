# Benchmark sources: torch-free ones in PTM_BENCH_BASE_SOURCES (ptm_base), the rest in
# PTM_BENCH_SOURCES (ptm). Paths relative to lib/.
set(PTM_BENCH_BASE_SOURCES
)
set(PTM_BENCH_SOURCES
)
