# Tokenizer sources (torch-free, compiled into ptm_base). Paths relative to lib/.
set(PTM_TOKENIZER_SOURCES
  ptm/data/unicode.cpp
  ptm/data/unicode_tables.cpp
  ptm/data/utf8_check.cpp
  ptm/data/pretokenize.cpp
  ptm/data/regex.cpp
  ptm/data/text_pipeline.cpp
  ptm/data/byte_level.cpp
  ptm/data/bpe.cpp
  ptm/data/bpe_train.cpp
  ptm/data/wordpiece.cpp
  ptm/data/tokenizer_base.cpp
  ptm/data/tokenizer_cache.cpp
  ptm/data/tokenizer_encode.cpp
  ptm/data/tokenizer_load.cpp
)
