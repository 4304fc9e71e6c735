// Implementation of tests/common/alloc_counter.h: global operator new/delete replacements that
// count per thread, then defer to malloc/free.
#include "tests/common/alloc_counter.h"

#include <cstdlib>
#include <new>

namespace jitgate::testing {
namespace {
thread_local uint64_t allocation_count = 0;

void* CountedAllocate(std::size_t size) {
  ++allocation_count;
  void* memory = std::malloc(size == 0 ? 1 : size);
  if (memory == nullptr) {
    std::abort();  // tests never run out of memory; -fno-exceptions code cannot catch bad_alloc
  }
  return memory;
}

void* CountedAllocateAligned(std::size_t size, std::align_val_t alignment) {
  ++allocation_count;
  const std::size_t align = static_cast<std::size_t>(alignment);
  void* memory = std::aligned_alloc(align, (size + align - 1) / align * align);
  if (memory == nullptr) {
    std::abort();
  }
  return memory;
}
}  // namespace

uint64_t ThreadAllocationCount() { return allocation_count; }

}  // namespace jitgate::testing

void* operator new(std::size_t size) { return jitgate::testing::CountedAllocate(size); }
void* operator new[](std::size_t size) { return jitgate::testing::CountedAllocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return jitgate::testing::CountedAllocate(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return jitgate::testing::CountedAllocate(size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  return jitgate::testing::CountedAllocateAligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return jitgate::testing::CountedAllocateAligned(size, alignment);
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete(void* memory, std::align_val_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::align_val_t) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t, std::align_val_t) noexcept { std::free(memory); }
