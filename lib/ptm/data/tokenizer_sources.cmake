# Tokenizer sources (torch-free, compiled into ptm_base). Paths relative to lib/.
set(PTM_TOKENIZER_SOURCES)
