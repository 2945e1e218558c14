# Distillation sources (torch library `ptm`). Paths relative to lib/.
set(PTM_DISTILL_SOURCES
)
