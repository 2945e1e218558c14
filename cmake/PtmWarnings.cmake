# ptm_warnings: an interface target carrying the project's warning flags (never applied to
# third-party headers, which come in as SYSTEM includes).
add_library(ptm_warnings INTERFACE)
target_compile_options(ptm_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
