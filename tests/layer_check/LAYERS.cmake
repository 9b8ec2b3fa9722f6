# A tree the layer check must refuse (tests/CMakeLists.txt): "low" includes a header of "high",
# which it does not link, and "user" includes a provider header of "base".
set(LAYERS base low high user)
set(LAYER_base_DIR "base")
set(LAYER_base_LINKS "")
set(LAYER_low_DIR "low")
set(LAYER_low_LINKS "base")
set(LAYER_high_DIR "high")
set(LAYER_high_LINKS "low")
set(LAYER_user_DIR "user")
set(LAYER_user_LINKS "base")
