# NAS test sources (torch-free: they also go into ptm_base_tests). Paths relative to tests/.
set(PTM_NAS_TEST_SOURCES
  unit/nas/genome_test.cpp
  unit/nas/search_space_test.cpp
  unit/nas/nsga2_test.cpp
  unit/nas/search_test.cpp
  unit/nas/front_plot_test.cpp
  unit/nas/predictor_test.cpp
)
