// Bounded single-producer single-consumer queue of small trivially-copyable messages,
// for threads of one process. Never blocks, never allocates after construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace chronus {

template <typename T>
class SpscQueue {
    static_assert(std::is_trivially_copyable_v<T>, "queue messages are plain data");

public:
    // Allocates room for at least `capacity` messages (rounded up to a power of two).
    explicit SpscQueue(std::size_t capacity)
    {
        std::size_t n = 2;
        while (n < capacity + 1)
            n <<= 1;
        mask_ = n - 1;
        slots_ = std::make_unique<T[]>(n);
    }

    // Producer only. False when full. RT-safe.
    bool tryPush(const T &value) noexcept
    {
        const std::size_t head = head_.load(std::memory_order_relaxed);
        const std::size_t next = (head + 1) & mask_;
        if (next == tail_.load(std::memory_order_acquire))
            return false;
        slots_[head] = value;
        head_.store(next, std::memory_order_release);
        return true;
    }

    // Consumer only. False when empty. RT-safe.
    bool tryPop(T &out) noexcept
    {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail == head_.load(std::memory_order_acquire))
            return false;
        out = slots_[tail];
        tail_.store((tail + 1) & mask_, std::memory_order_release);
        return true;
    }

    // Approximate fill, for reporting.
    std::size_t size() const noexcept
    {
        return (head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire)) & mask_;
    }
    std::size_t capacity() const noexcept { return mask_; }

private:
    std::unique_ptr<T[]> slots_;
    std::size_t mask_ = 0;
    alignas(64) std::atomic<std::size_t> head_{0};
    alignas(64) std::atomic<std::size_t> tail_{0};
};

} // namespace chronus
