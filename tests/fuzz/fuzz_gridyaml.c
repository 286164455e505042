/* fuzz_gridyaml.c: libFuzzer harness for grid YAML files
 * (grid_read_yaml_string), then one dispatch of what they accept.
 *
 *   make fuzz-gridyaml FUZZ_TIME=600      (clang, -fsanitize=fuzzer,address,undefined)
 *
 * The target is fuzz_gridyaml in targets.h; tests/test_fuzz_corpora.c replays
 * tests/fuzz/corpus-gridyaml/ through it on every `make test`. */
#include "fuzz/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_gridyaml(data, size); }
