# Neural architecture search, torch-free parts (ptm_base): genomes, search spaces, NSGA-II,
# the search loop with its state file, result writers and the front plot. Paths relative to lib/.
set(PTM_NAS_BASE_SOURCES
  ptm/nas/genome.cpp
  ptm/nas/search_space.cpp
  ptm/nas/nsga2.cpp
  ptm/nas/search_state.cpp
  ptm/nas/search.cpp
  ptm/nas/search_output.cpp
  ptm/nas/front_plot.cpp
  ptm/nas/predictor.cpp
)
