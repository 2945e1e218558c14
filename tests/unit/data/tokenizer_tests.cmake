# Tokenizer test sources. Paths relative to tests/.
set(PTM_TOKENIZER_TEST_SOURCES
  unit/data/tokenizer_test.cpp
  unit/data/tokenizer_parity_test.cpp
  unit/data/tokenizer_llama_test.cpp
)
