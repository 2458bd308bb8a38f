// A FileSink that turns appended runs of silence into holes (ftruncate instead of write),
// so tests can build real files past 4 GiB in seconds without using the disk. Anything
// that is not silence, and any rewrite of existing bytes (headers), is written normally.
#pragma once

#include "recorder/audio_file.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace testing_rec {

class SparseSink : public chronus::rec::FileSink {
public:
    using FileSink::FileSink;
    std::uint64_t holeBytes() const noexcept { return holeBytes_; }

protected:
    bool writeAt(const char *data, sf_count_t bytes, sf_count_t offset) override
    {
        struct stat st{};
        if (bytes > 0 && fstat(fd_, &st) == 0 && offset >= st.st_size && data[0] == 0 &&
            std::memcmp(data, data + 1, std::size_t(bytes - 1)) == 0) {
            if (ftruncate(fd_, offset + bytes) != 0) {
                errno_ = errno;
                return false;
            }
            holeBytes_ += std::uint64_t(bytes);
            return true;
        }
        return FileSink::writeAt(data, bytes, offset);
    }

private:
    std::uint64_t holeBytes_ = 0;
};

} // namespace testing_rec
