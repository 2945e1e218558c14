# Objective sources (torch library `ptm`). Paths relative to lib/.
set(PTM_OBJECTIVES_SOURCES
  ptm/objectives/objective.cpp
)
