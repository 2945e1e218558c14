# distill test sources (unit and integration). Paths relative to tests/.
set(PTM_DISTILL_TEST_SOURCES
  unit/distill/distill_test.cpp
  unit/distill/distill_cli_test.cpp
)
