# Parameter-efficient fine-tuning and merging sources (torch library `ptm`). Paths relative to lib/.
set(PTM_PEFT_SOURCES
)
