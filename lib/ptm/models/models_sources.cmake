# Model zoo sources. Paths relative to lib/. Torch-free ones (ptm_base):
set(PTM_MODELS_BASE_SOURCES
  ptm/models/safetensors_header.cpp
)
# The rest (compiled into the torch library `ptm`):
set(PTM_MODELS_SOURCES
  ptm/models/safetensors.cpp
  ptm/models/model.cpp ptm/models/hf_folder.cpp ptm/models/hf_auto.cpp ptm/models/hf_contradictions.cpp
  ptm/models/generate.cpp
  ptm/models/linear.cpp
  ptm/models/low_rank.cpp
  ptm/models/tanh_gelu.cpp
  ptm/models/activation_checkpoint.cpp
  ptm/models/sdpa.cpp
  ptm/models/models_register.cpp
  ptm/models/zoo.cpp
  ptm/models/bert.cpp ptm/models/bert_layers.cpp ptm/models/bert_options.cpp ptm/models/bert_hf.cpp
  ptm/models/elastic.cpp
  ptm/models/gpt.cpp
  ptm/models/electra.cpp
  ptm/models/gpt_block.cpp ptm/models/gpt_kv_cache.cpp
  ptm/models/gpt_hf.cpp ptm/models/gpt_llama_hf.cpp
  ptm/models/model_summary.cpp
  ptm/models/mlp.cpp
  ptm/models/resnet.cpp
  ptm/models/vit.cpp ptm/models/vit_hf.cpp
)
