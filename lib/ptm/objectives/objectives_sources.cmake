# Objective sources (torch library `ptm`). Paths relative to lib/.
set(PTM_OBJECTIVES_SOURCES
  ptm/objectives/objective.cpp
  ptm/objectives/linear_cross_entropy.cpp
  ptm/objectives/corruption.cpp
  ptm/objectives/denoising.cpp
  ptm/objectives/electra_objective.cpp
  ptm/objectives/supervised.cpp
  ptm/objectives/adversarial.cpp
)
