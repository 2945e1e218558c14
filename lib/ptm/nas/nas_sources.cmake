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

# The parts that touch models and tensors (torch library `ptm`): recipe sections, search spaces
# of a model, super-network training, sub-network extraction.
set(PTM_NAS_SOURCES
  ptm/nas/nas_config.cpp
  ptm/nas/model_space.cpp
  ptm/nas/supernet_objective.cpp
  ptm/nas/extract.cpp
  ptm/nas/predictor_screen.cpp
)
