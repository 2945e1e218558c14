# Pruning test sources (unit and integration). Paths relative to tests/.
set(PTM_COMPRESS_TEST_SOURCES
  unit/compress/masks_criteria_test.cpp
  unit/compress/structured_test.cpp
  unit/compress/calibration_test.cpp
  unit/compress/gradual_pruner_test.cpp
  unit/compress/prune_rounds_test.cpp
  unit/compress/layer_prune_test.cpp
  unit/compress/low_rank_test.cpp
  integration/low_rank_test.cpp
  integration/prune_train_test.cpp
  integration/prune_rounds_test.cpp
  integration/prune_test.cpp
  integration/nas_test.cpp
  integration/bert_compress_test.cpp
)
