// The dram model's functional contents: device-sized, sparse.
//
// The bytes live in one anonymous mapping with MAP_NORESERVE, so host RAM is spent only on
// pages that are written. A bitmap (itself a sparse mapping) records which 4 KiB pages were
// written through the model; a read of a page never written returns zeros without touching
// the mapping, so random reads over a large device cause no page faults. Once someone takes
// the flat pointer (numpy view, near-data units) writes may bypass the bitmap, so from then
// on every read goes to the mapping.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

namespace cosim::dram {

class Storage {
 public:
  explicit Storage(std::uint64_t bytes) : bytes_(bytes) {
    data_ = static_cast<unsigned char*>(map(bytes));
    const std::uint64_t pages = (bytes + kPage - 1) / kPage;
    bitmap_bytes_ = (pages + 7) / 8;
    bits_ = static_cast<unsigned char*>(map(bitmap_bytes_));
  }
  ~Storage() {
    ::munmap(data_, bytes_);
    ::munmap(bits_, bitmap_bytes_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // The whole contents as one array; reads then always go to it.
  unsigned char* flat() {
    exposed_ = true;
    return data_;
  }

  void read(std::uint64_t a, unsigned char* out, std::uint64_t n) const {
    if (exposed_) {
      std::memcpy(out, data_ + a, n);
      return;
    }
    while (n != 0) {
      const std::uint64_t page = a / kPage;
      const std::uint64_t k = std::min<std::uint64_t>(n, (page + 1) * kPage - a);
      if (bits_[page >> 3] & (1u << (page & 7)))
        std::memcpy(out, data_ + a, k);
      else
        std::memset(out, 0, k);
      a += k;
      out += k;
      n -= k;
    }
  }

  void write(std::uint64_t a, const unsigned char* in, std::uint64_t n) {
    if (n == 0) return;
    for (std::uint64_t p = a / kPage; p <= (a + n - 1) / kPage; ++p) bits_[p >> 3] |= (1u << (p & 7));
    std::memcpy(data_ + a, in, n);
  }

  // One byte (byte-enable paths).
  unsigned char get(std::uint64_t a) const {
    unsigned char c;
    read(a, &c, 1);
    return c;
  }
  void put(std::uint64_t a, unsigned char c) { write(a, &c, 1); }

 private:
  static constexpr std::uint64_t kPage = 4096;
  static void* map(std::uint64_t bytes) {
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    return m;
  }

  std::uint64_t bytes_;
  std::uint64_t bitmap_bytes_ = 0;
  unsigned char* data_ = nullptr;
  unsigned char* bits_ = nullptr;
  bool exposed_ = false;
};

}  // namespace cosim::dram
