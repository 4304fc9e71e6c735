// tests/common/alloc_counter.h: counts heap allocations made through operator new / malloc on
// the calling thread, so a test can prove a hot path allocates nothing:
//
//   jitgate::testing::AllocationScope scope;
//   DecodeBackendStream(bytes);
//   EXPECT_EQ(scope.count(), 0u);
//
// Link tests/common/alloc_counter.cc into the test binary (it replaces the global operator
// new/delete). Under AddressSanitizer the sanitizer owns malloc; operator new is still counted.
#ifndef JITGATE_TESTS_COMMON_ALLOC_COUNTER_H_
#define JITGATE_TESTS_COMMON_ALLOC_COUNTER_H_

#include <cstdint>

namespace jitgate::testing {

// Allocations on this thread since the process started.
uint64_t ThreadAllocationCount();

class AllocationScope {
 public:
  AllocationScope() : start_(ThreadAllocationCount()) {}
  uint64_t count() const { return ThreadAllocationCount() - start_; }

 private:
  uint64_t start_;
};

}  // namespace jitgate::testing

#endif  // JITGATE_TESTS_COMMON_ALLOC_COUNTER_H_
