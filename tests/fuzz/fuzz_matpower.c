/* fuzz_matpower.c: libFuzzer harness for MATPOWER case files
 * (grid_read_matpower_mem), then one dispatch of what they accept.
 *
 *   make fuzz-matpower FUZZ_TIME=600      (clang, -fsanitize=fuzzer,address,undefined)
 *
 * The target is fuzz_matpower in targets.h; tests/test_fuzz_corpora.c replays
 * tests/fuzz/corpus-matpower/ through it on every `make test`. */
#include "fuzz/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_matpower(data, size); }
