# Pruning sources (torch library `ptm`). Paths relative to lib/.
set(PTM_COMPRESS_SOURCES
  ptm/compress/prune_config.cpp
  ptm/compress/criteria.cpp
  ptm/compress/masks.cpp
  ptm/compress/targets.cpp
  ptm/compress/calibration.cpp
  ptm/compress/unstructured.cpp
  ptm/compress/axes.cpp
  ptm/compress/structured.cpp
  ptm/compress/reorder.cpp
  ptm/compress/sparsity_report.cpp
  ptm/compress/keep_masked.cpp
  ptm/compress/weight_snapshot.cpp
  ptm/compress/gradual_pruner.cpp
  ptm/compress/layer_prune.cpp
  ptm/compress/low_rank.cpp
)
