// fuzz/fuzz_target.h: the libFuzzer entry points every fuzz target defines (and may define).
//
// Included by each fuzz/<x>_fuzz.cc and by fuzz/replay_main.cc, which is the main() of the
// targets in ordinary (non-libFuzzer) builds. Declared here so -Wmissing-declarations holds.
#ifndef JITGATE_FUZZ_FUZZ_TARGET_H_
#define JITGATE_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>

// Runs one input. Must not crash, leak or hang on any bytes; returns 0 (libFuzzer reserves other
// values). A property violation is reported with JG_CHECK, which aborts.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Optional one-time set-up, called before the first input with main()'s arguments.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

#endif  // JITGATE_FUZZ_FUZZ_TARGET_H_
