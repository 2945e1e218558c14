# Tokenizer test sources. Paths relative to tests/.
set(PTM_TOKENIZER_TEST_SOURCES)
