# peft test sources (unit and integration). Paths relative to tests/.
set(PTM_PEFT_TEST_SOURCES
)
