# Parameter-efficient fine-tuning and merging sources (torch library `ptm`). Paths relative to lib/.
set(PTM_PEFT_SOURCES
  ptm/peft/peft_config.cpp
  ptm/peft/hooks.cpp
  ptm/peft/peft.cpp
  ptm/peft/merge.cpp
)
