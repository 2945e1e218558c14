# objectives test sources (unit and integration). Paths relative to tests/.
set(PTM_OBJECTIVES_TEST_SOURCES
)
