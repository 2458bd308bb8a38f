// Real-time helpers shared by every program: the marker for audio-thread entry
// points and the one place where denormal handling is set.
#pragma once

#include <cerrno>
#include <semaphore.h>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

// Marks a function that runs on the audio thread: no allocation, locks, logging,
// waiting or syscalls. Becomes [[clang::nonblocking]] where the compiler has it.
#if defined(__clang__) && defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::nonblocking)
#define CHRONUS_RT [[clang::nonblocking]]
#endif
#endif
#ifndef CHRONUS_RT
#define CHRONUS_RT
#endif

namespace chronus {

namespace rt {

// A counting semaphore for waking a worker thread from the audio thread. post() is a single
// atomic operation, plus a futex wake when a thread waits (the one system call an audio
// thread may make to hand work on: JACK wakes its own clients the same way).
class Semaphore {
public:
    Semaphore() noexcept { ::sem_init(&sem_, 0, 0); }
    ~Semaphore() { ::sem_destroy(&sem_); }
    Semaphore(const Semaphore &) = delete;
    Semaphore &operator=(const Semaphore &) = delete;
    // RT-safe (see above).
    void post() noexcept { ::sem_post(&sem_); }
    // Blocks until posted; false only on an error other than an interruption.
    bool wait() noexcept
    {
        while (::sem_wait(&sem_) != 0)
            if (errno != EINTR)
                return false;
        return true;
    }

private:
    sem_t sem_;
};

} // namespace rt

// Turns on flush-to-zero and denormals-are-zero for the calling thread and returns the
// previous mode, for restoreFloatMode(). The one place the bits are set, so every thread
// that renders computes the same results. RT-safe.
inline unsigned flushDenormals() noexcept
{
#if defined(__SSE__) || defined(__x86_64__)
    const unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); // FTZ (bit 15) | DAZ (bit 6)
    return saved;
#else
    return 0;
#endif
}

// Puts back a mode flushDenormals() returned. RT-safe.
inline void restoreFloatMode([[maybe_unused]] unsigned saved) noexcept
{
#if defined(__SSE__) || defined(__x86_64__)
    _mm_setcsr(saved);
#endif
}

// Sets flush-to-zero and denormals-are-zero for its lifetime and restores the previous
// mode on exit. Every render path (worker callback, offline renderer, tests) takes one,
// so all of them compute the same bits. RT-safe.
class DenormalGuard {
public:
    DenormalGuard() noexcept : saved_(flushDenormals()) {}
    ~DenormalGuard() { restoreFloatMode(saved_); }
    DenormalGuard(const DenormalGuard &) = delete;
    DenormalGuard &operator=(const DenormalGuard &) = delete;

private:
    unsigned saved_ = 0;
};

} // namespace chronus
