#include "recorder/frame_ring.hpp"

#include <new>
#include <sys/mman.h>

namespace chronus::rec {

FrameRing::FrameRing(std::size_t channels, std::size_t capacityFrames)
    : channels_(channels), capacity_(capacityFrames)
{
    bytes_ = channels_ * capacity_ * sizeof(float);
    // mmap gives page-aligned memory we can mlock and release in one piece.
    void *p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::bad_alloc();
    data_ = static_cast<float *>(p);
    // Locking may be refused (RLIMIT_MEMLOCK); prefaulting still keeps page faults off the
    // JACK thread as long as nothing swaps.
    locked_ = mlock(p, bytes_) == 0;
    std::memset(p, 0, bytes_);
}

FrameRing::~FrameRing()
{
    if (data_) {
        if (locked_)
            munlock(data_, bytes_);
        munmap(data_, bytes_);
    }
}

} // namespace chronus::rec
