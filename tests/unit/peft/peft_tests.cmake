# peft test sources (unit and integration). Paths relative to tests/.
set(PTM_PEFT_TEST_SOURCES
  unit/peft/peft_test.cpp
  unit/peft/merge_test.cpp
)
