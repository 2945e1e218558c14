# Model zoo test sources. Paths relative to tests/.
set(PTM_MODELS_TEST_SOURCES
  unit/models/safetensors_test.cpp
  unit/models/bert_test.cpp unit/models/bert_model_test.cpp
  unit/models/gpt_test.cpp
  unit/models/llama_test.cpp unit/models/hf_auto_test.cpp unit/models/generate_test.cpp unit/models/gpt_kv_cache_test.cpp
  unit/models/gpt_options_test.cpp
  unit/models/elastic_test.cpp
  unit/models/supernet_objective_test.cpp
  unit/models/bert_elastic_test.cpp
  unit/models/vit_elastic_test.cpp
  unit/models/resnet_test.cpp
  unit/models/vit_test.cpp
  unit/models/tanh_gelu_test.cpp
  unit/models/linear_padded_test.cpp
  unit/models/activation_checkpoint_test.cpp
)
