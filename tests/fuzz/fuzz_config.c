/* fuzz_config.c: libFuzzer harness for run configs and their --set overrides
 * (yamltree, the single-agent and tariff-game readers).
 *
 *   make fuzz-config FUZZ_TIME=600      (clang, -fsanitize=fuzzer,address,undefined)
 *
 * The target is fuzz_config in targets.h; tests/test_fuzz_corpora.c replays
 * tests/fuzz/corpus-config/ through it on every `make test`. */
#include "fuzz/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_config(data, size); }
