# distill test sources (unit and integration). Paths relative to tests/.
set(PTM_DISTILL_TEST_SOURCES
)
