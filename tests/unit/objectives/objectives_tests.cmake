# objectives test sources (unit and integration). Paths relative to tests/.
set(PTM_OBJECTIVES_TEST_SOURCES
  unit/objectives/corruption_test.cpp
  unit/objectives/denoising_test.cpp
  unit/objectives/adversarial_test.cpp
  unit/objectives/linear_cross_entropy_test.cpp
  integration/objectives_test.cpp
)
