# Distillation sources (torch library `ptm`). Paths relative to lib/.
set(PTM_DISTILL_SOURCES
  ptm/distill/distill.cpp
  ptm/distill/losses.cpp
  ptm/distill/teacher_cache.cpp
)
